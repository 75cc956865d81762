/**
 * No way around the API's roles: a request sent straight to Temporal (the
 * `temporal` CLI, any SDK client) claims whatever `by` it likes, so the
 * workflow believes a request only when the API signed it. Approvals need
 * the signature; an unsigned rollback is taken (the sender could cancel the
 * run anyway) and recorded with the identity Temporal recorded, not the
 * claimed one. Keys rotate: a worker verifies with every key it holds.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { createSkeletonActivities } from '../../src/activities';
import { SteeringKeys } from '../../src/config/steeringKeys';
import { temporalCliPath } from '../../src/runtime/binaries';
import { upgradeWorkflowId, type UpgradeState } from '../../src/domain/upgrade';
import { approveSignal, approveUpdate, rollbackUpdate } from '../../src/workflows/messages';
import { scriptedSuite } from '../support/scriptedSuite';
import { signedUpdate, TEST_STEERING_KEYS } from '../support/steering';
import { ScriptedWorld } from '../support/scriptedWorld';
import { eventually, sharedServerAddress, startUpgrade, startWorker, uniqueId, upgradeInput, upgradeState } from '../support/temporal';
import { call, makeTargets, testConfig, testServer } from './harness';

const run = promisify(execFile);
const suite = scriptedSuite('signed');
const { names: T, targets } = makeTargets({ cli: 'emqx', forged: 'emqx', rollback: 'emqx', rotated: 'emqx', copied: 'emqx' });
let app: FastifyInstance;

beforeAll(async () => {
  app = await testServer(suite.env.client, testConfig(targets, suite.taskQueue));
});
afterAll(() => app?.close());

/** An upgrade started through the API that waits at its gate. */
async function atGate(target: string): Promise<{ id: string; h: WorkflowHandle }> {
  const started = await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'emqx', target, version: '5.8.0', options: { approval: 'manual' } } });
  expect(started.status).toBe(201);
  const h = suite.env.client.workflow.getHandle(upgradeWorkflowId(target), started.json.runId);
  await eventually(async () => (await upgradeState(h)).status === 'AWAITING_APPROVAL');
  return { id: started.json.id, h };
}

/** `temporal workflow signal` as a person with access to Temporal would type it. */
const cliSignal = (workflowId: string, name: string, input: object, identity: string) =>
  run(temporalCliPath(), ['workflow', 'signal', '--address', sharedServerAddress(), '--workflow-id', workflowId, '--name', name, '--input', JSON.stringify(input), '--identity', identity]);

const refusals = (s: UpgradeState) => s.transitions.filter((t) => t.why.includes('refused'));

test('an approve signal from the Temporal CLI claiming the approver is refused and recorded with the identity that sent it; a signed API approve goes on', async () => {
  const { id, h } = await atGate(T.cli);
  await cliSignal(h.workflowId, 'approve', { by: 'approver', reason: 'looks fine to me' }, 'mallory@laptop');
  await eventually(async () => refusals(await upgradeState(h)).length > 0);
  const state = await upgradeState(h);
  expect(refusals(state)).toEqual([
    expect.objectContaining({ by: 'temporal:mallory@laptop', why: 'approve refused: not signed by the API: approvals are taken only through the API (claimed by approver)' }),
  ]);
  expect(state.status).toBe('AWAITING_APPROVAL');
  expect(state.approval.approvedBy).toBeUndefined();

  const approved = await call(app, 'POST', `/v1/upgrades/${id}/approve`, { as: 'approver', body: { reason: 'dashboards green' } });
  expect(approved.status).toBe(200);
  expect(((await h.result()) as UpgradeState)).toMatchObject({ status: 'SUCCEEDED', approval: { approvedBy: 'approver' } });
});

test('an update with a bad signature is refused, and so is a signed request copied into a signal', async () => {
  const { h } = await atGate(T.forged);
  const forger = new SteeringKeys([{ id: 'test', secret: Buffer.from('not the key the workers hold, but 32 bytes long') }]);
  await expect(signedUpdate(h, approveUpdate, { by: 'approver', roles: ['approver'], reason: 'forged' }, forger)).rejects.toMatchObject({
    cause: { type: 'UnsignedRequest', message: expect.stringContaining('its API signature is not valid: the signature does not match the request (key test)') },
  });
  // a signature the API really made, for another update, replayed as a signal
  const copied = TEST_STEERING_KEYS.signed({ message: 'approve', workflowId: h.workflowId, runId: (await h.describe()).runId, updateId: 'seen-in-history', request: { by: 'approver', roles: ['approver'], reason: 'copied' } });
  await h.signal(approveSignal, copied);
  await eventually(async () => refusals(await upgradeState(h)).length === 2);
  const [forged, signal] = refusals(await upgradeState(h));
  expect(forged.by).toMatch(/^temporal:\d+@/); // the test client's own identity, pid@host
  expect(signal.why).toContain('it carries an API signature, but the API signs updates only');
  expect((await upgradeState(h)).status).toBe('AWAITING_APPROVAL');
  await h.terminate('test over');
});

test('a rollback from the Temporal CLI is taken (the safe direction), recorded with the real identity beside the claimed one', async () => {
  const { h } = await atGate(T.rollback);
  await cliSignal(h.workflowId, 'rollback', { by: 'approver', reason: 'p99 up' }, 'oncall-cli@bastion');
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.transitions).toContainEqual(
    expect.objectContaining({ what: 'status', to: 'ROLLING_BACK', by: 'temporal:oncall-cli@bastion', why: 'rollback: p99 up (not signed by the API; claimed by approver)' }),
  );
});

test('key rotation: a worker refuses what a key it does not hold signed; one holding the new and the old key takes requests signed with either', async () => {
  const oldKey = TEST_STEERING_KEYS.keys[0];
  const newKey = { id: 'next', secret: Buffer.from('the next steering key, also 32 bytes or more') };
  const { h } = await atGate(T.rotated);
  // the test workers hold only the old key: the new one is refused...
  await expect(signedUpdate(h, approveUpdate, { by: 'approver', roles: ['approver'], reason: 'new key' }, new SteeringKeys([newKey, oldKey]))).rejects.toMatchObject({
    cause: { message: expect.stringContaining('signed with key "next", which this worker does not hold') },
  });
  await h.terminate('next: a worker with both keys');

  const both = await rotatedWorker([newKey, oldKey]);
  try {
    for (const [signer, target] of [[new SteeringKeys([newKey]), `${T.rotated}-a`], [new SteeringKeys([oldKey]), `${T.rotated}-b`]] as const) {
      const handle = await both.start(target);
      await expect(signedUpdate(handle, approveUpdate, { by: 'approver', roles: ['approver'], reason: `signed with ${signer.keys[0].id}` }, signer)).resolves.toMatchObject({ accepted: true });
      expect(((await handle.result()) as UpgradeState).approval.approvedBy).toBe('approver');
    }
  } finally {
    await both.stop();
  }
});

test('an update copied from a history into another update id does not verify', async () => {
  const { h } = await atGate(T.copied);
  const runId = (await h.describe()).runId;
  const signed = TEST_STEERING_KEYS.signed({ message: 'rollback', workflowId: h.workflowId, runId, updateId: 'the-original', request: { by: 'operator', reason: 'seen once' } });
  await h.executeUpdate(rollbackUpdate, { args: [signed], updateId: 'a-new-one' });
  const final = (await h.result()) as UpgradeState;
  // a rollback is still taken, but as the sender's, not as the operator's
  expect(final.transitions).toContainEqual(expect.objectContaining({ to: 'ROLLING_BACK', by: expect.stringMatching(/^temporal:/) }));
});

/** A second scripted worker on a task queue of its own whose steering keys are the given ones (a worker after a rotation). */
async function rotatedWorker(keys: SteeringKeys['keys']) {
  const world = new ScriptedWorld();
  const taskQueue = uniqueId('rotated');
  const client = new Client({ connection: suite.env.connection });
  const worker = await startWorker(suite.env, taskQueue, { ...world.activities(client), ...createSkeletonActivities(client, new SteeringKeys(keys)) });
  return {
    start: async (target: string) => {
      const h = await startUpgrade(suite.env, taskQueue, upgradeInput({ target, options: { approval: 'manual' } }));
      await eventually(async () => (await upgradeState(h)).status === 'AWAITING_APPROVAL');
      return h;
    },
    stop: () => worker.stop(),
  };
}
