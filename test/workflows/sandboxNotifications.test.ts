/**
 * Notifications end to end: a sandbox EMQX upgrade started through the API
 * (which finds the target's sinks in the configuration and puts their
 * subscriptions in the input) goes to its gate, is approved through the API
 * and succeeds; the worker (real activities, the sinks of the same
 * configuration) delivers a signed webhook for each event to a local receiver.
 */
import { createHmac } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildServer } from '../../src/api/server';
import type { Config } from '../../src/config/file';
import { sinksFor } from '../../src/config/notifications';
import { NOTIFICATION_EVENTS } from '../../src/domain/notifications';
import type { UpgradeState } from '../../src/domain/upgrade';
import { testConfig, TOKENS, UI_URL } from '../api/harness';
import { startLocalStack, type LocalStack } from '../support/localStack';
import { connectSharedServer, eventually } from '../support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver';

const KEY = 'the sandbox test signing key, 32 bytes or more';
const CONSOLE = 'http://127.0.0.1:8080';

let env: TestWorkflowEnvironment;
let stack: LocalStack | undefined;
let receiver: WebhookReceiver;

beforeAll(async () => {
  env = await connectSharedServer();
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
  await env?.teardown();
});

test('a sandbox upgrade that goes to a gate, is approved and succeeds: a signed webhook for started, awaiting-approval, point-of-no-return-passed and succeeded', async () => {
  // the worker's sinks are the API's configuration's, made once the stack has named its target
  const configured: { config?: Config } = {};
  stack = await startLocalStack(env, 'notify', {
    notifications: () => ({ sinksFor: (t) => sinksFor(configured.config!, t), env: { HOOK_KEY: KEY }, consoleUrl: CONSOLE, temporalUiUrl: UI_URL, namespace: 'default' }),
  });
  const { name, target, taskQueue } = stack;
  const config = testConfig([{ ...target, notifications: { sinks: [{ name: 'ops', type: 'webhook', url: `${receiver.url}/hooks/cutover`, secret: { env: 'HOOK_KEY' }, events: [...NOTIFICATION_EVENTS] }] } }], taskQueue);
  configured.config = config;
  const app = await buildServer({ client: env.client, config });
  const as = (who: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[who]}` });
  const fast = { connEvictRate: 100, sessEvictRate: 100, waitTakeover: '0s', waitHealthCheck: '0s', initialDelay: '100ms', drainInterval: '500ms' };
  const started = await app.inject({
    method: 'POST',
    url: '/v1/upgrades',
    headers: as('operator'),
    payload: { kind: 'emqx', target: name, version: '5.8.0', reason: 'notification test', options: { approval: 'manual', emqx: fast } },
  });
  expect(started.statusCode).toBe(201);
  const { id } = started.json() as { id: string };
  const show = async () => (await app.inject({ method: 'GET', url: `/v1/upgrades/${id}`, headers: as('viewer') })).json() as UpgradeState;

  await eventually(async () => (await show()).status === 'AWAITING_APPROVAL', 90_000);
  const gate = await eventually(async () => receiver.delivered().find((d) => d.json.event === 'awaiting-approval'));
  const approved = await app.inject({ method: 'POST', url: `/v1/upgrades/${id}/approve`, headers: as('approver'), payload: { reason: 'the webhook said so' } });
  expect(approved.statusCode).toBe(200);
  await eventually(async () => (await show()).status === 'SUCCEEDED', 90_000);
  const events = await eventually(async () => {
    const got = receiver.delivered().sort((a, b) => (a.json.sequence as number) - (b.json.sequence as number));
    return got.length === 4 && got;
  });

  expect(events.map((d) => d.json.event)).toEqual(['started', 'awaiting-approval', 'point-of-no-return-passed', 'succeeded']);
  for (const d of events) {
    expect(d.path).toBe('/hooks/cutover');
    const mac = createHmac('sha256', KEY).update(`${String(d.headers['x-cutover-timestamp'])}.${d.body}`).digest('hex');
    expect(d.headers['x-cutover-signature']).toBe(`sha256=${mac}`);
    expect(d.json.upgrade).toMatchObject({ id, kind: 'emqx', target: name, toVersion: '5.8.0', requestedBy: 'operator' });
  }
  expect(gate.json).toMatchObject({
    upgrade: { fromVersion: '5.7.0', status: 'AWAITING_APPROVAL', step: 'gate' },
    gate: { approvalGate: 'promote', evidence: [expect.objectContaining({ title: 'EMQX nodes' })] },
    links: { approve: `${CONSOLE}/ui/upgrades/${encodeURIComponent(id)}?action=approve`, rollback: `${CONSOLE}/ui/upgrades/${encodeURIComponent(id)}?action=rollback` },
  });
  expect(events[3].json.upgrade).toMatchObject({ status: 'SUCCEEDED', fromVersion: '5.7.0', pointOfNoReturnPassed: true });
  await app.close();
}, 180_000);
