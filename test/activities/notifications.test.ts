/**
 * The delivery activity against a local receiver: what a webhook and a Slack
 * sink receive, which answers are retried and which end the delivery, and a
 * sink the worker cannot resolve.
 */
import { createNotificationActivities, signatureOf } from '../../src/activities/notifications';
import type { NotificationSink } from '../../src/config/notifications';
import type { NotificationSummary } from '../../src/domain/notifications';
import { freePort } from '../../src/runtime/freePort';
import { exec, failure } from '../support/activityHarness';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver';

const KEY = 'a signing key of the activity tests, 32 bytes';
const RUN = '0b6f8a52-4a8e-4d3b-9a3c-2f1e6d5c4b3a';
let receiver: WebhookReceiver;
let sinks: NotificationSink[];

beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.answer = () => 200;
  receiver.received.length = 0;
  sinks = [
    { name: 'hook', type: 'webhook', url: `${receiver.url}/hook`, secret: { env: 'KEY' }, events: ['failed'] },
    { name: 'chat', type: 'slack', url: { env: 'SLACK_URL' }, events: ['failed'] },
  ];
});

const { deliverNotification } = createNotificationActivities({
  sinksFor: (target) => (target === 'orders' ? sinks : []),
  env: { KEY, get SLACK_URL() { return `${receiver.url}/slack`; } },
  consoleUrl: 'https://cutover.example.com',
  temporalUiUrl: 'https://temporal.example.com',
  namespace: 'prod',
});

const summary: NotificationSummary = {
  event: 'failed',
  sequence: 7,
  at: '2026-12-08T01:00:00.000Z',
  upgradeId: `orders.${RUN}`,
  kind: 'kong',
  target: 'orders',
  fromVersion: '3.6.1',
  toVersion: '3.9.1',
  status: 'FAILED',
  step: 'finalize',
  by: 'cutover',
  reason: 'finalize failed after the point of no return: <migrations> & more',
  requestedBy: 'alice',
  waitingFor: 'manual attention',
  traffic: { blue: 0, green: 100 },
  pointOfNoReturnPassed: true,
  failure: { step: 'finalize', message: 'kong migrations finish exited 1', type: 'MigrationFailed' },
};

test('a webhook gets the summary, the links and a signature over the timestamp and the raw body', async () => {
  expect(await exec(deliverNotification, { sink: 'hook', summary })).toEqual({ status: 200 });
  // the summary's fields but those the envelope carries, the id under its own name
  const upgrade = Object.fromEntries(Object.entries(summary).filter(([k]) => !['event', 'sequence', 'at', 'upgradeId'].includes(k)));
  const [got] = receiver.delivered();
  expect(got.path).toBe('/hook');
  const ts = Number(got.headers['x-cutover-timestamp']);
  expect(got.headers['x-cutover-signature']).toBe(signatureOf(KEY, ts, got.body));
  expect(got.headers).toMatchObject({ 'content-type': 'application/json', 'x-cutover-event': 'failed', 'x-cutover-delivery': `orders.${RUN}/7/hook` });
  expect(got.json).toEqual({
    version: 1,
    event: 'failed',
    title: 'orders 3.6.1 → 3.9.1: FAILED: a person must look',
    deliveryId: `orders.${RUN}/7/hook`,
    sequence: 7,
    occurredAt: summary.at,
    upgrade: { id: summary.upgradeId, ...upgrade },
    links: {
      console: `https://cutover.example.com/ui/upgrades/orders.${RUN}`,
      approve: `https://cutover.example.com/ui/upgrades/orders.${RUN}?action=approve`,
      rollback: `https://cutover.example.com/ui/upgrades/orders.${RUN}?action=rollback`,
      api: `https://cutover.example.com/v1/upgrades/orders.${RUN}`,
      temporalUi: `https://temporal.example.com/namespaces/prod/workflows/upgrade-orders/${RUN}/history`,
    },
  });
});

test("Slack gets text and blocks, its mrkdwn escaped, no approve button where nothing waits, at the URL the worker's environment holds", async () => {
  await exec(deliverNotification, { sink: 'chat', summary });
  const [got] = receiver.delivered();
  expect(got.path).toBe('/slack');
  expect(got.headers['x-cutover-signature']).toBeUndefined();
  expect(got.json.text).toBe(`orders 3.6.1 → 3.9.1: FAILED: a person must look: ${summary.reason}`);
  const blocks = got.json.blocks as { type: string; text?: { text: string }; elements?: { url?: string }[] }[];
  expect(blocks.map((b) => b.type)).toEqual(['section', 'section', 'section', 'actions', 'context']);
  expect(blocks[0].text!.text).toBe(
    `*<https://cutover.example.com/ui/upgrades/orders.${RUN}|orders 3.6.1 → 3.9.1: FAILED: a person must look>*\nfinalize failed after the point of no return: &lt;migrations&gt; &amp; more (by cutover)`,
  );
  expect(blocks[2].text!.text).toBe('*Failure at finalize*\nkong migrations finish exited 1');
  expect(blocks[3].elements!.map((e) => e.url)).toEqual([`https://cutover.example.com/ui/upgrades/orders.${RUN}`, `https://temporal.example.com/namespaces/prod/workflows/upgrade-orders/${RUN}/history`]);
});

test.each([
  [500, 'Unavailable', false],
  [503, 'Unavailable', false],
  [429, 'Unavailable', false],
  [408, 'Unavailable', false],
  [404, 'Rejected', true],
  [400, 'Rejected', true],
  [301, 'Rejected', true],
])('an answer %i fails as %s (non-retryable: %s), saying what the receiver answered', async (status, type, nonRetryable) => {
  receiver.answer = () => status;
  const err = await failure(exec(deliverNotification, { sink: 'hook', summary }));
  expect([err.type, err.nonRetryable]).toEqual([type, nonRetryable]);
  expect(err.message).toBe(`sink hook answered ${status}: receiver failing on purpose`);
});

test('a receiver that cannot be reached is retried, saying why', async () => {
  sinks[0] = { ...sinks[0], url: `http://127.0.0.1:${await freePort()}/hook` };
  const err = await failure(exec(deliverNotification, { sink: 'hook', summary }));
  expect([err.type, err.nonRetryable, err.message]).toEqual(['Unavailable', false, 'sink hook gave no answer: ECONNREFUSED']);
});

test("a sink the worker's configuration lacks, or whose key is unset there, ends the delivery as misconfigured", async () => {
  const gone = await failure(exec(deliverNotification, { sink: 'hook', summary: { ...summary, target: 'billing' } }));
  expect([gone.type, gone.nonRetryable, gone.message]).toEqual(['Misconfigured', true, 'sink hook is not configured for target billing on this worker']);
  sinks[0] = { ...sinks[0], secret: { env: 'UNSET_KEY' } };
  const unset = await failure(exec(deliverNotification, { sink: 'hook', summary }));
  expect([unset.type, unset.message]).toEqual(['Misconfigured', 'sink hook: secret not set: environment variable UNSET_KEY is empty on this worker']);
  expect(receiver.received).toEqual([]);
});
