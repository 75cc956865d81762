/**
 * Notifications from the skeleton (scripted strategy, real delivery activity,
 * a local receiver): every event a sink subscribed to arrives once, signed;
 * none it did not; a receiver that fails three times first still gets it
 * once; a receiver that holds the request does not hold the upgrade, whose
 * run ends once the delivery does, or at the delivery's own time limit; a
 * worker restarted in the middle of a delivery loses none.
 */
import { createHmac } from 'node:crypto';
import { builtInProviders, createAnalysisActivities } from '../../src/activities/analysis';
import { buildServer } from '../../src/api/server';
import { createNotificationActivities } from '../../src/activities/notifications';
import type { NotificationSink } from '../../src/config/notifications';
import { toAnalysisCheck } from '../../src/domain/analysis';
import type { NotificationEvent } from '../../src/domain/notifications';
import { releaseName, type UpgradeInput } from '../../src/domain/upgrade';
import { approveUpdate } from '../../src/workflows/messages';
import { makeTargets, testConfig, TOKENS } from '../api/harness';
import { startPrometheusStandIn, type PrometheusStandIn } from '../support/prometheusStandIn';
import { scriptedSuite } from '../support/scriptedSuite';
import { signedUpdate } from '../support/steering';
import { eventually, reachesStatus, startUpgrade, startWorker, uniqueId, upgradeInput, upgradeResult, upgradeState } from '../support/temporal';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../support/webhookReceiver';

const KEY = 'the webhook signing key of the notification tests';
const CONSOLE = 'http://console.test:8080';
const TEMPORAL_UI = 'http://temporal-ui.test:8233';

let receiver: WebhookReceiver;
let prometheus: PrometheusStandIn;
/** Each test's sinks, by its target (the worker's configuration). */
const sinks = new Map<string, NotificationSink[]>();

const notificationActivities = () =>
  createNotificationActivities({ sinksFor: (t) => sinks.get(t) ?? [], env: { HOOK_KEY: KEY }, consoleUrl: CONSOLE, temporalUiUrl: TEMPORAL_UI, namespace: 'default' });

const suite = scriptedSuite('notify', async () => {
  receiver = await startWebhookReceiver();
  prometheus = await startPrometheusStandIn();
  const activities = {
    ...createAnalysisActivities({ providers: builtInProviders({ prometheusUrl: prometheus.url }), heartbeatEveryMs: 200 }),
    ...notificationActivities(),
  };
  return {
    activities,
    close: async () => {
      await receiver.close();
      await prometheus.close();
    },
  };
});

/** The target's sinks in the worker's configuration, and its subscriptions in the input (as the API makes them). */
function subscribe(input: UpgradeInput, configured: Omit<NotificationSink, 'url'>[]): UpgradeInput {
  sinks.set(input.target, configured.map((s) => ({ ...s, url: `${receiver.url}/${input.target}/${s.name}` })));
  input.notifications = configured.map((s) => ({ sink: s.name, events: s.events }));
  return input;
}

const webhook = (events: NotificationEvent[]): Omit<NotificationSink, 'url'> => ({ name: 'ops', type: 'webhook', secret: { env: 'HOOK_KEY' }, events });
const at = (input: UpgradeInput, sink = 'ops') => (r: { path: string }) => r.path === `/${input.target}/${sink}`;
/** What a sink of the test's target was delivered, in the order the events happened (deliveries run side by side). */
const delivered = (input: UpgradeInput, sink = 'ops') =>
  receiver
    .delivered()
    .filter(at(input, sink))
    .sort((a, b) => (a.json.sequence as number) - (b.json.sequence as number));

/** The receiver's check of a request: the HMAC of "<timestamp>.<raw body>" with the sink's key. */
function verifies(headers: ReceivedRequest['headers'], body: string, key = KEY): boolean {
  const expected = `sha256=${createHmac('sha256', key).update(`${String(headers['x-cutover-timestamp'])}.${body}`).digest('hex')}`;
  return headers['x-cutover-signature'] === expected;
}

const errorRate = toAnalysisCheck({ name: 'error-rate', provider: 'prometheus', query: 'errors{target="{{target}}",release="{{green}}"}', successCondition: 'result < 0.05' });
const errorsOf = (input: UpgradeInput) => `errors{target="${input.target}",release="${releaseName(input.target, '2.0.0')}"}`;

beforeEach(() => {
  receiver.answer = () => 200;
});

test('an upgrade that waits at a gate, is approved and succeeds: started, awaiting-approval with its evidence and links, point-of-no-return-passed, succeeded; each signed; Slack gets its message', async () => {
  const input = subscribe(upgradeInput({ options: { approval: 'manual' } }), [
    webhook(['started', 'awaiting-approval', 'analysis-failed', 'rolled-back', 'failed', 'succeeded', 'point-of-no-return-passed']),
    { name: 'chat', type: 'slack', events: ['awaiting-approval'] },
  ]);
  input.options.verifyAnalysis = [errorRate];
  prometheus.values.set(errorsOf(input), 0.012);
  const h = await suite.start(input);
  await reachesStatus(h, 'AWAITING_APPROVAL');
  const gate = await eventually(async () => delivered(input).find((d) => d.json.event === 'awaiting-approval'));
  await signedUpdate(h, approveUpdate, { by: 'bob', reason: 'numbers look good' });
  const final = await upgradeResult(h);
  expect(final.status).toBe('SUCCEEDED');

  // the run returned after its deliveries: all four are there, each once, in the order they happened
  const got = delivered(input);
  expect(got.map((d) => d.json.event)).toEqual(['started', 'awaiting-approval', 'point-of-no-return-passed', 'succeeded']);
  expect(got.map((d) => d.json.sequence)).toEqual([1, 2, 3, 4]);
  for (const d of got) {
    expect(verifies(d.headers, d.body)).toBe(true);
    expect(verifies(d.headers, d.body, 'another key of 32 bytes or more, not the sink one')).toBe(false);
    expect(d.headers['x-cutover-event']).toBe(d.json.event);
  }
  const id = final.upgradeId;
  const runId = id.split('.')[1];
  expect(gate.json).toMatchObject({
    version: 1,
    event: 'awaiting-approval',
    upgrade: { id, kind: 'emqx', target: input.target, fromVersion: '1.0.0', toVersion: '2.0.0', status: 'AWAITING_APPROVAL', step: 'gate', by: 'cutover', reason: 'green is ready and verified', requestedBy: 'alice' },
    gate: { approvalGate: 'promote', evidence: [{ title: 'Analysis', table: { columns: expect.arrayContaining(['check', 'last value']), rows: [expect.arrayContaining(['verify', 'error-rate', 'Successful', '0.012'])] } }] },
    links: {
      console: `${CONSOLE}/ui/upgrades/${encodeURIComponent(id)}`,
      approve: `${CONSOLE}/ui/upgrades/${encodeURIComponent(id)}?action=approve`,
      rollback: `${CONSOLE}/ui/upgrades/${encodeURIComponent(id)}?action=rollback`,
      api: `${CONSOLE}/v1/upgrades/${encodeURIComponent(id)}`,
      temporalUi: `${TEMPORAL_UI}/namespaces/default/workflows/upgrade-${input.target}/${runId}/history`,
    },
  });
  expect((gate.json.upgrade as { waitingFor: string }).waitingFor).toContain('approval before promote');
  expect(got[0].json.upgrade).toMatchObject({ status: 'RUNNING', by: 'alice', reason: 'test upgrade' });
  expect(got[2].json.upgrade).toMatchObject({ step: 'finalize', pointOfNoReturnPassed: true });
  expect(got[3].json.upgrade).toMatchObject({ status: 'SUCCEEDED', by: 'cutover' });

  // Slack: its own message shape, unsigned (no key configured), the buttons opening the console's forms
  const [slack, ...more] = delivered(input, 'chat');
  expect(more).toEqual([]);
  expect(slack.headers['x-cutover-signature']).toBeUndefined();
  expect(Object.keys(slack.json).sort()).toEqual(['blocks', 'text']);
  expect(slack.json.text).toBe(`${input.target} 1.0.0 → 2.0.0: waiting for approval: green is ready and verified`);
  const blocks = slack.json.blocks as { type: string; elements?: { url?: string; style?: string }[]; text?: { text: string } }[];
  const actions = blocks.find((b) => b.type === 'actions')!;
  expect(actions.elements!.map((e) => [e.url, e.style])).toEqual([
    [`${CONSOLE}/ui/upgrades/${encodeURIComponent(id)}?action=approve`, 'primary'],
    [`${CONSOLE}/ui/upgrades/${encodeURIComponent(id)}?action=rollback`, 'danger'],
    [`${CONSOLE}/ui/upgrades/${encodeURIComponent(id)}`, undefined],
    [`${TEMPORAL_UI}/namespaces/default/workflows/upgrade-${input.target}/${runId}/history`, undefined],
  ]);
  expect(blocks.some((b) => b.type === 'section' && b.text?.text.includes('*Analysis*') && b.text.text.includes('0.012'))).toBe(true);
});

test('an analysis that fails: analysis-failed, then rolled-back; an event no sink wants is not sent', async () => {
  const input = subscribe(upgradeInput(), [webhook(['analysis-failed', 'rolled-back', 'succeeded'])]);
  input.options.verifyAnalysis = [errorRate];
  prometheus.values.set(errorsOf(input), 0.3);
  const final = await upgradeResult(await suite.start(input));
  expect(final.status).toBe('ROLLED_BACK');
  const got = delivered(input);
  expect(got.map((d) => d.json.event)).toEqual(['analysis-failed', 'rolled-back']);
  expect(got[0].json.upgrade).toMatchObject({ status: 'ROLLING_BACK', failure: { step: 'verify', type: 'AnalysisFailed' } });
  expect((got[0].json.upgrade as { reason: string }).reason).toContain('analysis error-rate failed at verify');
  expect(got[1].json.upgrade).toMatchObject({ status: 'ROLLED_BACK' });
  expect(receiver.received.filter(at(input))).toHaveLength(2);
});

test('a receiver that fails three times first gets the notification once, every attempt the same delivery, the delivered one signed', async () => {
  const input = subscribe(upgradeInput(), [webhook(['succeeded'])]);
  receiver.answer = (r) => (at(input)(r) && r.attempt < 3 ? 500 : 200);
  const final = await upgradeResult(await suite.start(input));
  expect(final.status).toBe('SUCCEEDED');
  const attempts = receiver.received.filter(at(input));
  expect(attempts.map((r) => [r.attempt, r.answered])).toEqual([
    [0, 500],
    [1, 500],
    [2, 500],
    [3, 200],
  ]);
  expect(new Set(attempts.map((r) => r.headers['x-cutover-delivery']))).toEqual(new Set([`${final.upgradeId}/1/ops`]));
  const [got] = delivered(input);
  expect(got.json.event).toBe('succeeded');
  expect(verifies(got.headers, got.body)).toBe(true);
});

test('a receiver that holds the request does not hold the upgrade: SUCCEEDED while it holds, the run ends once it answers', async () => {
  const input = subscribe(upgradeInput(), [webhook(['started'])]);
  receiver.answer = (r) => (at(input)(r) ? 'hold' : 200);
  const h = await suite.start(input);
  await reachesStatus(h, 'SUCCEEDED');
  // every step ran while the receiver had not answered 'started'
  expect(receiver.received.filter(at(input)).some((r) => r.answered === undefined && !r.abandoned)).toBe(true);
  expect((await upgradeState(h)).pointOfNoReturnPassed).toBe(true);
  // the run itself waits for its delivery, and the API says so to whoever would start the next upgrade
  expect((await h.describe()).status.name).toBe('RUNNING');
  const [target] = makeTargets({ t: 'emqx' }).targets;
  const app = await buildServer({ client: suite.env.client, config: testConfig([{ ...target, name: input.target }], suite.taskQueue) });
  const again = await app.inject({ method: 'POST', url: '/v1/upgrades', headers: { authorization: `Bearer ${TOKENS.operator}` }, payload: { kind: 'emqx', target: input.target, version: '5.8.0' } });
  await app.close();
  expect([again.statusCode, (again.json() as { error: { message: string } }).error.message]).toEqual([
    409,
    `target ${input.target}'s upgrade ${(await upgradeState(h)).upgradeId} ended SUCCEEDED and is still delivering its notifications (for at most 5m); start again once it has`,
  ]);
  receiver.release(200);
  expect((await upgradeResult(h)).status).toBe('SUCCEEDED');
  expect(delivered(input).map((d) => d.json.event)).toEqual(['started']);
});

test('a receiver that never answers: the attempt ends at its time limit, the next one delivers, and the run ends', async () => {
  const input = subscribe(upgradeInput(), [webhook(['succeeded'])]);
  receiver.answer = (r) => (at(input)(r) && r.attempt === 0 ? 'hold' : 200);
  const h = await suite.start(input);
  const final = await upgradeResult(h);
  expect(final.status).toBe('SUCCEEDED');
  const attempts = receiver.received.filter(at(input));
  // the first attempt was given up by the sender (never answered), the second delivered
  expect(attempts.map((r) => [r.attempt, r.answered, r.abandoned])).toEqual([
    [0, undefined, true],
    [1, 200, undefined],
  ]);
  expect(delivered(input)).toHaveLength(1);
}, 60_000);

test('a worker restarted while a delivery is held: the next worker delivers it, once', async () => {
  const taskQueue = uniqueId('notify-restart');
  const worker = () => startWorker(suite.env, taskQueue, { ...suite.world.activities(suite.env.client), ...notificationActivities() });
  const input = subscribe(upgradeInput({ options: { approval: 'manual' } }), [webhook(['started', 'succeeded'])]);
  receiver.answer = (r) => (at(input)(r) && r.attempt === 0 ? 'hold' : 200);
  const first = await worker();
  const h = await startUpgrade(suite.env, taskQueue, input);
  await reachesStatus(h, 'AWAITING_APPROVAL');
  expect(receiver.received.filter(at(input)).map((r) => [r.attempt, r.answered])).toEqual([[0, undefined]]);
  await first.stop();
  const second = await worker();
  try {
    await signedUpdate(h, approveUpdate, { by: 'bob', reason: 'after the restart' });
    expect((await upgradeResult(h)).status).toBe('SUCCEEDED');
  } finally {
    await second.stop();
  }
  expect(delivered(input).map((d) => d.json.event)).toEqual(['started', 'succeeded']);
  expect(receiver.received.filter((r) => at(input)(r) && r.headers['x-cutover-event'] === 'started').map((r) => r.attempt)).toEqual([0, 1]);
}, 60_000);
