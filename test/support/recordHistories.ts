/**
 * Records the replay corpus (test/fixtures/histories/*.json) from real runs
 * on the suite's dev server: three of the skeleton with the scripted strategy,
 * an EMQX upgrade and an EMQX rollback in the standby window on the local
 * platform. Not part of npm test; run it when a deliberate workflow change
 * makes an old history differ, after keeping the old one as
 * <name>-legacy.<bundle>.json if it holds a branch patched() keeps (README,
 * "Replay corpus"); -t '<test name>' records one:
 *   npx jest --testMatch '<rootDir>/test/support/recordHistories.ts' --maxWorkers=1
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporalCliPath } from '../../src/runtime/binaries';
import type { UpgradeInput } from '../../src/domain/upgrade';
import { createNotificationActivities } from '../../src/activities/notifications';
import { NOTIFICATION_EVENTS } from '../../src/domain/notifications';
import { approveUpdate, rollbackUpdate } from '../../src/workflows/messages';
import { startLocalStack } from './localStack';
import { scriptedSuite } from './scriptedSuite';
import { eventually, sharedServerAddress, reachesStatus, reachesStep, startUpgrade, upgradeInput, upgradeState } from './temporal';
import { signedUpdate } from './steering';
import { startWebhookReceiver, type WebhookReceiver } from './webhookReceiver';

export const HISTORIES_DIR = join(__dirname, '..', 'fixtures', 'histories');

let receiver: WebhookReceiver;
const suite = scriptedSuite('record', async () => {
  receiver = await startWebhookReceiver();
  const sink = { name: 'recorder', type: 'webhook' as const, url: receiver.url, secret: { env: 'KEY' }, events: [...NOTIFICATION_EVENTS] };
  const activities = createNotificationActivities({ sinksFor: () => [sink], env: { KEY: 'the recording key, 32 bytes or more' }, consoleUrl: 'http://127.0.0.1:8080', namespace: 'default' });
  return { activities, close: () => receiver.close() };
});
const { world, start } = suite;

/**
 * The history as `temporal workflow show --output json` writes it (how a
 * person saves one from any cluster); bundle: which workflow bundle replays
 * it (the scripted test bundle, or the shipped one).
 */
async function save(name: string, bundle: 'scripted' | 'shipped', h: WorkflowHandle): Promise<void> {
  await h.result();
  const { runId } = await h.describe();
  const args = ['workflow', 'show', '--address', sharedServerAddress(), '--workflow-id', h.workflowId, '--run-id', runId, '--output', 'json'];
  writeFileSync(join(HISTORIES_DIR, `${name}.${bundle}.json`), execFileSync(temporalCliPath(), args));
}

const plan = (input: UpgradeInput) => {
  input.options.traffic = [10, 50, 100].map((weight) => ({ weight, analysis: [] }));
  return input;
};

test('happy path: a manual gate approved, a 3-step traffic plan', async () => {
  const h = await start(plan(upgradeInput({ options: { approval: 'manual' } })));
  await reachesStatus(h, 'AWAITING_APPROVAL');
  await signedUpdate(h, approveUpdate, { by: 'bob', reason: 'recorded' });
  await save('happy-path', 'scripted', h);
});

test('notifications: a sink of every event, the first attempt of each answered 500; a gate approved', async () => {
  receiver.answer = (r) => (r.attempt === 0 ? 500 : 200);
  const input = plan(upgradeInput({ options: { approval: 'manual' } }));
  input.notifications = [{ sink: 'recorder', events: [...NOTIFICATION_EVENTS] }];
  const h = await start(input);
  await reachesStatus(h, 'AWAITING_APPROVAL');
  await signedUpdate(h, approveUpdate, { by: 'bob', reason: 'recorded' });
  await save('notifications', 'scripted', h);
});

test('rollback at drainBlue', async () => {
  const input = plan(upgradeInput());
  world.hold(input.target, 'drainBlue');
  const h = await start(input);
  await reachesStep(h, 'drainBlue');
  await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'recorded' });
  await save('rollback-at-drainBlue', 'scripted', h);
});

test('cancellation at the gate', async () => {
  const h = await start(upgradeInput({ options: { approval: 'manual' } }));
  await reachesStatus(h, 'AWAITING_APPROVAL');
  await h.cancel();
  await save('cancel-at-gate', 'scripted', h);
});

/** An EMQX upgrade of a local sandbox cluster, 5.7.0 to 5.8.0; then what the recording does with its handle. */
async function emqxLocal(standbyWindowMs: number, record: (h: WorkflowHandle) => Promise<void>): Promise<void> {
  const stack = await startLocalStack(suite.env, 'record');
  try {
    const fast = { connEvictRate: 50, sessEvictRate: 50, waitTakeoverMs: 1000, waitHealthCheckMs: 1000, initialDelayMs: 500, drainIntervalMs: 500 };
    const input = upgradeInput({ kind: 'emqx', target: stack.name, version: '5.8.0', settings: { emqx: fast }, options: { standbyWindowMs, maxAttempts: 3 } });
    await record(await startUpgrade(suite.env, stack.taskQueue, input));
  } finally {
    await stack.stop();
  }
}

test('an EMQX upgrade on the local platform', () => emqxLocal(1000, (h) => save('emqx-local', 'shipped', h)), 180_000);

test('an EMQX rollback in the standby window', () =>
  emqxLocal(600_000, async (h) => {
    await eventually(async () => (await upgradeState(h)).step === 'standBy', 120_000);
    await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'recorded' });
    await save('emqx-rollback-in-window', 'shipped', h);
  }), 180_000);
