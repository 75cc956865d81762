/** Long timers on the time-skipping test server: a day of standby takes seconds. */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalTestServerPath } from '../../src/runtime/binaries';
import { ensureSearchAttributes } from '../../src/runtime/searchAttributes';
import { upgradeWorkflowId, type UpgradeInput, type UpgradeState } from '../../src/domain/upgrade';
import { approveUpdate, stateQuery } from '../../src/workflows/messages';
import { ScriptedWorld } from '../support/scriptedWorld';
import { startWorker, uniqueId, upgradeInput, type RunningWorker } from '../support/temporal';
import { signedUpdate } from '../support/steering';

const HOUR = 3_600_000;
let env: TestWorkflowEnvironment;
let worker: RunningWorker;
const world = new ScriptedWorld();
const taskQueue = uniqueId('timeskip');

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
  await ensureSearchAttributes(env.connection, 'default');
  worker = await startWorker(env, taskQueue, world.activities(env.client));
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

const start = (input: UpgradeInput) =>
  env.client.workflow.start('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(input.target), args: [input] });

test('a 24-hour standby window completes without waiting the day (the server skips time) and keeps blue STANDING_BY throughout it', async () => {
  const input = upgradeInput({ options: { standbyWindowMs: 24 * HOUR } });
  const h = await start(input);
  // a result at all is the day skipped: the test's own timeout is a minute
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  const stoodBy = final.transitions.find((t) => t.to === 'STANDING_BY')!;
  const retired = final.transitions.find((t) => t.to === 'CLEANING_UP')!;
  // workflow time, not wall time: the window really lasted 24 hours
  expect(Date.parse(retired.at) - Date.parse(stoodBy.at)).toBeGreaterThanOrEqual(24 * HOUR);
});

test('auto-promotion after its delay when nobody approves', async () => {
  const input = upgradeInput({ options: { approval: 'manual', autoPromoteAfterMs: 2 * HOUR } });
  const final = (await (await start(input)).result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  expect(final.approval.approvedBy).toBe('auto-promotion');
  const waited = final.transitions.find((t) => t.to === 'AWAITING_APPROVAL')!;
  const resumed = final.transitions.find((t) => t.from === 'AWAITING_APPROVAL')!;
  expect(Date.parse(resumed.at) - Date.parse(waited.at)).toBeGreaterThanOrEqual(2 * HOUR);
  expect(final.transitions).toContainEqual(expect.objectContaining({ why: 'auto-promoted after 2h' }));
});

test('an approval before the auto-promotion delay promotes at once', async () => {
  const input = upgradeInput({ options: { approval: 'manual', autoPromoteAfterMs: 2 * HOUR } });
  const h = await start(input);
  await env.sleep(HOUR);
  const s = await h.query(stateQuery);
  expect(s.status).toBe('AWAITING_APPROVAL');
  expect(s.approval.autoPromoteAt).toBeDefined();
  await signedUpdate(h, approveUpdate, { by: 'bob', reason: 'canary looks good' });
  const final = (await h.result()) as UpgradeState;
  expect(final.approval.approvedBy).toBe('bob');
});

test('a manual gate with a time limit and no approval rolls back', async () => {
  const input = upgradeInput({ options: { approval: 'manual', stepTimeoutMs: { gate: 8 * HOUR } } });
  const final = (await (await start(input)).result()) as UpgradeState;
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'gate', message: 'no approval before promote within 8h', type: 'ApprovalTimeout' });
  expect(final.releases.green?.phase).toBe('OBSOLETE');
});

test('a gate before finalize with its own time limit rolls back when nobody approves', async () => {
  const input = upgradeInput({ options: { approveBefore: ['finalize'], gates: { finalize: { timeoutMs: 8 * HOUR } } } });
  const final = (await (await start(input)).result()) as UpgradeState;
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'finalize', message: 'no approval before finalize within 8h', type: 'ApprovalTimeout' });
  expect(final.pointOfNoReturnPassed).toBe(false);
  expect(final.releases.blue?.phase).toBe('SERVING');
});

test('each gate has its own auto-promotion delay: 1h before promote, 3h before finalize', async () => {
  const input = upgradeInput({
    options: { approveBefore: ['promote', 'finalize'], gates: { promote: { autoPromoteAfterMs: HOUR }, finalize: { autoPromoteAfterMs: 3 * HOUR } } },
  });
  const final = (await (await start(input)).result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  const waits = final.transitions.filter((t) => t.to === 'AWAITING_APPROVAL' || t.from === 'AWAITING_APPROVAL').map((t) => Date.parse(t.at));
  expect(waits).toHaveLength(4);
  expect(waits[1] - waits[0]).toBeGreaterThanOrEqual(HOUR);
  expect(waits[3] - waits[2]).toBeGreaterThanOrEqual(3 * HOUR);
  expect(final.transitions.filter((t) => t.why.startsWith('auto-promoted after')).map((t) => t.why)).toEqual(['auto-promoted after 1h', 'auto-promoted after 3h']);
});

describe('a gate with both an auto-promotion delay and a time limit: whichever comes first', () => {
  const waited = (final: UpgradeState) => {
    const [from, to] = final.transitions.filter((t) => t.to === 'AWAITING_APPROVAL' || t.from === 'AWAITING_APPROVAL');
    return Date.parse(to.at) - Date.parse(from.at);
  };

  test('auto-promotion after 1h, before the 3h time limit: approved at 1h', async () => {
    const input = upgradeInput({ options: { approveBefore: ['finalize'], gates: { finalize: { autoPromoteAfterMs: HOUR, timeoutMs: 3 * HOUR } } } });
    const final = (await (await start(input)).result()) as UpgradeState;
    expect(final.status).toBe('SUCCEEDED');
    expect(final.transitions).toContainEqual(expect.objectContaining({ why: 'auto-promoted after 1h' }));
    expect(waited(final)).toBeGreaterThanOrEqual(HOUR);
    expect(waited(final)).toBeLessThan(3 * HOUR);
  });

  // the API refuses this pair (the delay could never fire); a run started past it, e.g. from the Temporal CLI, still keeps its limit
  test('the 1h time limit before the 3h auto-promotion: rolled back at 1h as a gate time limit', async () => {
    const input = upgradeInput({ options: { approveBefore: ['finalize'], gates: { finalize: { autoPromoteAfterMs: 3 * HOUR, timeoutMs: HOUR } } } });
    const final = (await (await start(input)).result()) as UpgradeState;
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.failure).toMatchObject({ step: 'finalize', message: 'no approval before finalize within 1h', type: 'ApprovalTimeout' });
    expect(final.approval.autoPromoteAt).toBeUndefined();
    expect(waited(final)).toBeGreaterThanOrEqual(HOUR);
    expect(waited(final)).toBeLessThan(3 * HOUR);
  });
});

test('a traffic step pauses in workflow time: a 2-hour pause at 10% takes seconds', async () => {
  const input = upgradeInput({ options: { traffic: [{ weight: 10, pauseMs: 2 * HOUR, analysis: [] }, { weight: 100, analysis: [] }] } });
  const final = (await (await start(input)).result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  const [first] = final.trafficSteps!;
  expect(Date.parse(first.endedAt!) - Date.parse(first.startedAt!)).toBeGreaterThanOrEqual(2 * HOUR);
});
