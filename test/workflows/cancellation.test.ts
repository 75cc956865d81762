/**
 * Stops on the dev server: a Temporal cancellation at any step is an abort
 * that rolls back (or ends FAILED after finalize); undos outlast outages;
 * a stop during the last step never ends in success.
 */
import { Client } from '@temporalio/client';
import { STEPS, upgradeWorkflowId, type Step } from '../../src/domain/upgrade';
import { abortUpdate, rollbackUpdate } from '../../src/workflows/messages';
import { scriptedSuite } from '../support/scriptedSuite';
import { HOLD_BEAT_MS } from '../support/scriptedWorld';
import { eventually, reachesStep, upgradeInput, upgradeResult, upgradeState } from '../support/temporal';
import { signedUpdate } from '../support/steering';

const suite = scriptedSuite('cancel');
const { world, start } = suite;
/** The scripted strategy's steps with an undo, in order. */
const REVERSIBLE: Step[] = ['prepare', 'deployGreen', 'promote', 'drainBlue'];
const WAITS: Step[] = ['gate', 'standBy'];
/** Who cancels: Temporal records the requesting client's identity, and the transitions name it. */
const CANCELLER = 'alice@ops-laptop';

describe('a Temporal cancellation is an abort', () => {
  test.each(STEPS)('cancelled during %s', async (step) => {
    const afterStandBy = STEPS.indexOf(step) > STEPS.indexOf('standBy');
    const input = upgradeInput({ options: { approval: step === 'gate' ? 'manual' : 'auto', standbyWindowMs: afterStandBy ? 500 : 3_600_000 } });
    if (!WAITS.includes(step)) world.hold(input.target, step);
    const h = await start(input);
    await reachesStep(h, step);
    await new Client({ connection: suite.env.connection, identity: CANCELLER }).workflow.getHandle(h.workflowId).cancel();
    const final = await upgradeResult(h);
    const undone = world.effectsOf(input.target).filter((e) => e.startsWith('undo')).map((e) => e.slice(5));
    const stop = final.transitions.find((t) => t.what === 'signal' && t.why.startsWith('abort requested'));
    expect(stop).toMatchObject({ by: 'temporal', why: expect.stringContaining(`Temporal cancellation requested by ${CANCELLER}`) });
    if (STEPS.indexOf(step) < STEPS.indexOf('finalize')) {
      expect(final.status).toBe('ROLLED_BACK');
      const registered = REVERSIBLE.filter((s) => STEPS.indexOf(s) <= STEPS.indexOf(step));
      expect(undone).toEqual([...registered].reverse());
      expect(final.compensations.every((c) => c.state === 'done')).toBe(true);
      expect(final.transitions).toContainEqual(expect.objectContaining({ what: 'status', to: 'ROLLED_BACK', by: 'temporal', why: expect.stringContaining(CANCELLER) }));
      if (final.releases.green) {
        expect(final.releases.blue?.phase).toBe('SERVING');
        expect(final.releases.green.phase).toBe('OBSOLETE');
        expect(final.traffic).toEqual({ blue: 100, green: 0 });
      }
    } else {
      expect(final.status).toBe('FAILED');
      expect(undone).toEqual([]);
      expect(final.failure?.message).toContain(`aborted by temporal after the point of no return: Temporal cancellation requested by ${CANCELLER}`);
      expect(final.waitingFor).toMatch(new RegExp(`manual attention: blue ${input.target}-1-0-0 is (STANDING_BY|CLEANING_UP)`));
    }
    // the run closes as it ended, and its search attribute says so
    const described = await suite.env.client.workflow.getHandle(upgradeWorkflowId(input.target)).describe();
    expect(described.status.name).toBe('COMPLETED');
    expect(described.searchAttributes.CutoverStatus).toEqual([final.status]);
  });
});

/** The SDK's default: a heartbeat (and the cancellation in its answer) at most every 0.8 x the heartbeat timeout, a minute for verify. */
const DEFAULT_THROTTLE_MS = 0.8 * 60_000;

test("a cancellation reaches a running wait at the worker's next heartbeat, though its heartbeat timeout is a minute", async () => {
  const input = upgradeInput({ options: { approval: 'auto' } });
  const hold = world.hold(input.target, 'verify');
  const h = await start(input);
  await reachesStep(h, 'verify');
  // past the first heartbeat, which the SDK always sends at once
  await eventually(async () => hold.beats() >= 10);
  const beatsAtCancel = hold.beats();
  await h.cancel();
  const final = await upgradeResult(h);
  expect(final.status).toBe('ROLLED_BACK');
  // Counted in the wait's own beats, so a busy machine slows both sides: with the SDK's default the wait would beat on
  // for 48 s (240 beats) before it heard of the cancellation; with the worker's one-second throttle, a handful.
  const beatsAfter = hold.beats() - beatsAtCancel;
  expect(beatsAfter).toBeLessThan(DEFAULT_THROTTLE_MS / HOLD_BEAT_MS / 4);
});

describe('reading who cancelled never holds the rollback up', () => {
  // a worker whose reading of the history fails on every attempt
  let reads = 0;
  const blind = scriptedSuite('cancel-blind', async () => ({
    activities: {
      cancelRequestedBy: async () => {
        reads++;
        throw new Error('history unavailable');
      },
    },
    close: async () => undefined,
  }));

  test('a cancellation whose requester cannot be read still rolls back after the read\'s few attempts, naming only temporal', async () => {
    const input = upgradeInput({ options: { approval: 'manual' } });
    const h = await blind.start(input);
    await reachesStep(h, 'gate');
    await h.cancel();
    const final = await upgradeResult(h);
    expect(final.status).toBe('ROLLED_BACK');
    // the read is given three attempts and ten seconds, never retried until it answers
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(3);
    const stop = final.transitions.find((t) => t.what === 'signal' && t.why.startsWith('abort requested'));
    expect(stop).toMatchObject({ by: 'temporal', why: expect.stringMatching(/^abort requested: Temporal cancellation requested \(UI Cancel/) });
  });
});

describe('undos outlast outages', () => {
  test('an undo that fails five times and then succeeds ends ROLLED_BACK', async () => {
    const input = upgradeInput();
    world.hold(input.target, 'waitReady');
    world.failUndo(input.target, 'deployGreen', 'Kubernetes API unavailable', 5);
    const h = await start(input);
    await reachesStep(h, 'waitReady');
    await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'outage drill' });
    // while it retries, the state names the undo
    await eventually(async () => (await upgradeState(h)).undoing?.step === 'deployGreen');
    const final = await upgradeResult(h);
    expect(final.status).toBe('ROLLED_BACK');
    expect(world.attempts.filter((a) => a.target === input.target && a.step === 'deployGreen' && a.action === 'undo')).toHaveLength(6);
    expect(world.effectsOf(input.target)).toEqual(['do prepare', 'do deployGreen', 'undo deployGreen', 'undo prepare']);
  }, 60_000);

  test('an undo that fails non-retryably stops at once: FAILED, manual attention', async () => {
    const input = upgradeInput();
    world.hold(input.target, 'waitReady');
    world.failUndo(input.target, 'deployGreen', 'deployment orders-green not found', Infinity, true);
    const h = await start(input);
    await reachesStep(h, 'waitReady');
    await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'drill' });
    const final = await upgradeResult(h);
    expect(final.status).toBe('FAILED');
    expect(final.failure?.message).toMatch(/^manual attention: undoing deployGreen failed since \S+Z: deployment orders-green not found$/);
    expect(world.attempts.filter((a) => a.target === input.target && a.step === 'deployGreen' && a.action === 'undo')).toHaveLength(1);
    // the undos after the stuck one are left for the person
    expect(final.compensations).toEqual([
      { step: 'prepare', state: 'registered' },
      { step: 'deployGreen', state: 'failed' },
    ]);
  });

  test('an undo still failing at the rollback time limit ends FAILED with its last error', async () => {
    const input = upgradeInput({ options: { rollbackTimeoutMs: 4000 } });
    world.hold(input.target, 'waitReady');
    world.failUndo(input.target, 'deployGreen', 'EMQX API connection refused', Infinity);
    const h = await start(input);
    await reachesStep(h, 'waitReady');
    await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'drill' });
    const final = await upgradeResult(h);
    expect(final.status).toBe('FAILED');
    expect(final.failure?.message).toMatch(/^manual attention: undoing deployGreen failed since \S+Z: EMQX API connection refused$/);
    expect(world.attempts.filter((a) => a.target === input.target && a.step === 'deployGreen' && a.action === 'undo').length).toBeGreaterThan(1);
  });
});

describe('a stop never ends in success', () => {
  test('an abort during the last step, which finishes anyway, ends FAILED', async () => {
    const input = upgradeInput();
    const hold = world.hold(input.target, 'cleanUpBlue', { ignoreCancel: true });
    const h = await start(input);
    await eventually(async () => hold.started());
    await signedUpdate(h, abortUpdate, { by: 'oncall', reason: 'stop it' });
    hold.release();
    const final = await upgradeResult(h);
    expect(world.effectsOf(input.target)).toContain('do cleanUpBlue');
    expect(final.status).toBe('FAILED');
    expect(final.failure?.message).toContain('aborted by oncall after the point of no return');
  });
});
