/** The skeleton on the real Temporal dev server, driven by the scripted strategy. */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { releaseName, upgradeWorkflowId, type Step, type UpgradeState } from '../../src/domain/upgrade';
import { workerDefaults } from '../../src/runtime/workerDefaults';
import { abortUpdate, approveSignal, approveUpdate, rollbackSignal, rollbackUpdate } from '../../src/workflows/messages';
import { scriptedSuite } from '../support/scriptedSuite';
import { eventually, reachesStep, upgradeInput, upgradeResult, upgradeState } from '../support/temporal';
import { signedUpdate } from '../support/steering';

const suite = scriptedSuite('skeleton');
const { world, start } = suite;
const state = upgradeState;
const atStep = reachesStep;
const result = upgradeResult;

const FORWARD = ['do prepare', 'do deployGreen', 'do waitReady', 'do verify', 'do promote', 'do drainBlue', 'do finalize', 'do cleanUpBlue'];

describe('blueGreenUpgrade on the dev server', () => {
  test('happy path: every step once, green SERVING, blue OBSOLETE, SUCCEEDED', async () => {
    const input = upgradeInput();
    const final = await result(await start(input));
    expect(final.status).toBe('SUCCEEDED');
    expect(world.effectsOf(input.target)).toEqual(FORWARD);
    const [green, blue] = [releaseName(input.target, '2.0.0'), `${input.target}-1-0-0`];
    expect(final.upgradeId).toMatch(new RegExp(`^${input.target}\\.[0-9a-f-]{36}$`));
    expect(final.releases.green).toMatchObject({ name: green, version: '2.0.0', phase: 'SERVING' });
    expect(final.releases.blue).toMatchObject({ name: blue, phase: 'OBSOLETE' });
    expect(final.traffic).toEqual({ blue: 0, green: 100 });
    const phases = final.transitions.filter((t) => t.what === 'phase').map((t) => `${t.release}:${t.to}`);
    expect(phases).toEqual([
      `${green}:SCHEDULED`,
      `${green}:INITIALISING`,
      `${green}:SERVING`,
      `${blue}:STANDING_BY`,
      `${blue}:CLEANING_UP`,
      `${blue}:OBSOLETE`,
    ]);
    expect(final.pointOfNoReturnPassed).toBe(true);
    expect(new Set(servingCounts(final))).toEqual(new Set([1]));
    const { searchAttributes } = await suite.env.client.workflow.getHandle(upgradeWorkflowId(input.target)).describe();
    expect(searchAttributes).toMatchObject({ CutoverTarget: [input.target], CutoverKind: ['emqx'], CutoverStatus: ['SUCCEEDED'], CutoverPhase: ['SERVING'] });
  });

  test('a history replays without nondeterminism, signals and refusals included', async () => {
    const input = upgradeInput({ options: { approval: 'manual' } });
    const h = await start(input);
    await eventually(async () => (await state(h)).status === 'AWAITING_APPROVAL');
    await h.signal(rollbackSignal, { by: 'x', reason: 'changed my mind' });
    await h.signal(approveSignal, { by: 'y', reason: 'too late' });
    await result(h);
    const history = await h.fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: process.env.CUTOVER_TEST_WORKFLOW_BUNDLE! }, ...workerDefaults() }, history, h.workflowId),
    ).resolves.toBeUndefined();
  });

  test('manual gate waits for approve, and approve is refused when nothing waits', async () => {
    const input = upgradeInput({ options: { approval: 'manual' } });
    const hold = world.hold(input.target, 'verify');
    const h = await start(input);
    await eventually(async () => hold.started());
    const early = signedUpdate(h, approveUpdate, { by: 'bob', reason: 'too soon' });
    await expect(early).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(early).rejects.toMatchObject({ cause: { message: expect.stringContaining('nothing is waiting for approval') } });
    hold.release();
    await eventually(async () => (await state(h)).status === 'AWAITING_APPROVAL');
    expect((await state(h)).waitingFor).toMatch(/approval/);
    expect(world.effectsOf(input.target)).not.toContain('do promote');
    await signedUpdate(h, approveUpdate, { by: 'bob', reason: 'metrics look fine' });
    const final = await result(h);
    expect(final.status).toBe('SUCCEEDED');
    expect(final.approval).toMatchObject({ approvedBy: 'bob' });
    expect(final.transitions).toContainEqual(expect.objectContaining({ by: 'bob', why: 'approved: metrics look fine' }));
  });

  test('a self-approval is refused by four-eyes and recorded, not applied; another approver goes on', async () => {
    const input = upgradeInput({ options: { approval: 'manual', requireDistinctApprover: true } });
    const h = await start(input);
    await eventually(async () => (await state(h)).status === 'AWAITING_APPROVAL');
    await expect(signedUpdate(h, approveUpdate, { by: 'alice', reason: 'self approval' })).rejects.toMatchObject({
      cause: { message: expect.stringContaining('alice requested this upgrade and cannot also approve it') },
    });
    expect((await state(h)).status).toBe('AWAITING_APPROVAL');
    await signedUpdate(h, approveUpdate, { by: 'carol', reason: 'ok' });
    expect((await result(h)).status).toBe('SUCCEEDED');
  });

  const ROLLBACK_STEPS: Step[] = ['prepare', 'deployGreen', 'waitReady', 'verify', 'gate', 'promote', 'drainBlue', 'standBy'];
  test.each(ROLLBACK_STEPS)('rollback during %s: compensations in reverse, blue SERVING, green OBSOLETE', async (step) => {
    const input = upgradeInput({ options: { approval: step === 'gate' ? 'manual' : 'auto', standbyWindowMs: 3_600_000 } });
    const holdable = !['gate', 'standBy'].includes(step);
    if (holdable) world.hold(input.target, step);
    const h = await start(input);
    await atStep(h, step);
    const reply = await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: `test rollback at ${step}` });
    expect(reply.accepted).toBe(true);
    const final = await result(h);
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.releases.blue?.phase).toBe('SERVING');
    expect(final.releases.green?.phase).toBe('OBSOLETE');
    expect(final.traffic).toEqual({ blue: 100, green: 0 });
    const done = world.effectsOf(input.target);
    const undone = done.filter((e) => e.startsWith('undo')).map((e) => e.slice(5));
    const registered = ['prepare', 'deployGreen', 'promote', 'drainBlue'].slice(0, ['prepare', 'deployGreen', 'promote', 'drainBlue'].filter((s) => STEP_ORDER.indexOf(s as Step) <= STEP_ORDER.indexOf(step)).length);
    expect(undone).toEqual([...registered].reverse());
    // exactly one release serves at every recorded instant
    const serving = servingCounts(final);
    expect(Math.min(...serving)).toBe(1);
    expect(Math.max(...serving)).toBe(1);
    expect(final.transitions).toContainEqual(expect.objectContaining({ what: 'status', to: 'ROLLING_BACK', by: 'oncall' }));
  });

  test('rollback is refused after finalize, abort is not', async () => {
    const input = upgradeInput();
    const hold = world.hold(input.target, 'cleanUpBlue');
    const h = await start(input);
    await eventually(async () => hold.started());
    await expect(signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'too late' })).rejects.toMatchObject({
      cause: { message: expect.stringContaining('point of no return') },
    });
    await h.signal(rollbackSignal, { by: 'oncall', reason: 'too late by signal' });
    await eventually(async () => (await state(h)).transitions.some((t) => t.why.startsWith('rollback refused')));
    hold.release();
    const final = await result(h);
    expect(final.status).toBe('SUCCEEDED');
    expect(world.effectsOf(input.target).filter((e) => e.startsWith('undo'))).toEqual([]);
  });

  test('abort after finalize stops the clean-up and leaves the upgrade FAILED for a person', async () => {
    const input = upgradeInput();
    world.hold(input.target, 'cleanUpBlue');
    const h = await start(input);
    await atStep(h, 'cleanUpBlue');
    await signedUpdate(h, abortUpdate, { by: 'oncall', reason: 'keep blue for forensics' });
    const final = await result(h);
    expect(final.status).toBe('FAILED');
    expect(final.failure?.message).toContain('aborted by oncall after the point of no return');
    expect(final.releases.green?.phase).toBe('SERVING');
  });

  test('a step that keeps failing is retried with backoff until its time limit, not a number of attempts, then rolls back', async () => {
    // maxAttempts, as an older request sends it, no longer ends the retries
    const input = upgradeInput({ options: { maxAttempts: 2, stepTimeoutMs: { verify: 6000 } } });
    world.fail(input.target, 'verify', 'smoke check GET /healthz returned 503');
    const final = await result(await start(input));
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.failure).toMatchObject({ step: 'verify', type: 'StepTimeout' });
    // attempts 1 s and then 2 s apart: at 0, 1 and 3 s, the next one (7 s) past the limit
    expect(world.attempts.filter((a) => a.target === input.target && a.step === 'verify')).toHaveLength(3);
    expect(world.effectsOf(input.target)).toEqual([
      'do prepare',
      'do deployGreen',
      'do waitReady',
      'undo deployGreen',
      'undo prepare',
    ]);
    expect(final.releases.green?.phase).toBe('OBSOLETE');
  });

  test('a step over its time limit rolls back with StepTimeout', async () => {
    const input = upgradeInput({ options: { stepTimeoutMs: { waitReady: 1500 } } });
    world.hold(input.target, 'waitReady');
    const final = await result(await start(input));
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.failure).toMatchObject({ step: 'waitReady', type: 'StepTimeout' });
    expect(final.failure?.message).toContain('1500ms');
  });

  test('a standby window no date can hold (100000000d, started past the API) fails its step and rolls back after traffic moved, never stuck', async () => {
    const input = upgradeInput({ options: { standbyWindowMs: 100_000_000 * 86_400_000 } });
    const final = await result(await start(input));
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.failure).toMatchObject({ step: 'standBy', message: 'Invalid time value' });
    expect(final.releases.blue?.phase).toBe('SERVING');
    expect(final.traffic).toEqual({ blue: 100, green: 0 });
    expect(world.effectsOf(input.target)).toEqual([...FORWARD.slice(0, 6), 'undo drainBlue', 'undo promote', 'undo deployGreen', 'undo prepare']);
  });
});

const STEP_ORDER: Step[] = ['plan', 'prepare', 'deployGreen', 'waitReady', 'verify', 'gate', 'promote', 'drainBlue', 'standBy', 'finalize', 'cleanUpBlue'];

/** How many releases were SERVING at each instant that saw transitions (a swap is two records at one instant). */
function servingCounts(final: UpgradeState): number[] {
  const phase = new Map<string, string>([[final.releases.blue!.name, 'SERVING']]);
  const counts: number[] = [];
  final.transitions.forEach((t, i) => {
    if (t.what === 'phase' && t.release) phase.set(t.release, t.to!);
    if (final.transitions[i + 1]?.at !== t.at) counts.push([...phase.values()].filter((p) => p === 'SERVING').length);
  });
  return counts;
}
