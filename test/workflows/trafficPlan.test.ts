/** The traffic plan, the gates and the ready report on the dev server, with the scripted strategy. */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { releaseName, type UpgradeInput } from '../../src/domain/upgrade';
import { approveUpdate, reportReadyUpdate, rollbackUpdate } from '../../src/workflows/messages';
import { scriptedSuite } from '../support/scriptedSuite';
import { eventually, reachesStatus, reachesStep, upgradeInput, upgradeResult, upgradeState } from '../support/temporal';
import { signedUpdate } from '../support/steering';

const suite = scriptedSuite('traffic');
const { world, start } = suite;
const names = (input: UpgradeInput) => ({ blue: `${input.target}-1-0-0`, green: releaseName(input.target, '2.0.0') });
const steps = (...weights: number[]) => weights.map((weight) => ({ weight, analysis: [] }));

test('a 3-step plan applies its weights in order, both serve during the split, and ends SUCCEEDED', async () => {
  const input = upgradeInput({ options: { traffic: steps(10, 50, 100) } });
  const final = await upgradeResult(await start(input));
  const { blue, green } = names(input);
  expect(final.status).toBe('SUCCEEDED');
  expect(world.weightsOf(input.target)).toEqual([{ [blue]: 90, [green]: 10 }, { [blue]: 50, [green]: 50 }, { [green]: 100 }]);
  expect(final.trafficSteps?.map((s) => s.weight)).toEqual([10, 50, 100]);
  for (const s of final.trafficSteps!) expect(Date.parse(s.endedAt!)).toBeGreaterThanOrEqual(Date.parse(s.startedAt!));
  const phases = final.transitions.filter((t) => t.what === 'phase').map((t) => `${t.release}:${t.to}:${t.why}`);
  expect(phases).toEqual([
    `${green}:SCHEDULED:upgrade from 1.0.0`,
    `${green}:INITIALISING:green workload requested`,
    `${green}:SERVING:traffic step 1 of 3 (green 10%)`,
    `${blue}:STANDING_BY:traffic step 3 of 3 (green 100%)`,
    `${blue}:CLEANING_UP:standby window over`,
    `${blue}:OBSOLETE:blue removed`,
  ]);
  // the strategy's promote runs after traffic reached green
  expect(world.effectsOf(input.target)).toContain('do promote');
});

test('a per-step approval waits at its step; a rollback there sends all traffic back to blue', async () => {
  const input = upgradeInput({ options: { traffic: [{ weight: 20, analysis: [], approve: true }, { weight: 100, analysis: [] }] } });
  const h = await start(input);
  await reachesStatus(h, 'AWAITING_APPROVAL');
  const waiting = await upgradeState(h);
  expect(waiting.step).toBe('promote');
  expect(waiting.traffic).toEqual({ blue: 80, green: 20 });
  expect(waiting.waitingFor).toContain('approval before the next traffic step after traffic step 1 of 2 (green 20%)');
  expect(waiting.releases.blue?.phase).toBe('SERVING');
  expect(waiting.releases.green?.phase).toBe('SERVING');
  await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'canary errors' });
  const final = await upgradeResult(h);
  const { blue, green } = names(input);
  expect(final.status).toBe('ROLLED_BACK');
  expect(world.weightsOf(input.target)).toEqual([{ [blue]: 80, [green]: 20 }, { [blue]: 100 }]);
  expect(final.compensations).toContainEqual({ step: 'promote', what: 'traffic on blue', state: 'done' });
  expect(final.releases.green?.phase).toBe('OBSOLETE');
  expect(final.releases.blue?.phase).toBe('SERVING');
  expect(final.trafficSteps?.[0]).toMatchObject({ outcome: 'stopped', endedAt: expect.any(String) });
});

test('a first traffic change that keeps failing until the step\'s time limit still sends all traffic back to blue, and the upgrade ends ROLLED_BACK naming the cause', async () => {
  const input = upgradeInput({ options: { traffic: steps(10, 100), stepTimeoutMs: { promote: 5000 } } });
  world.fail(input.target, 'traffic', 'nginx: upstream weights refused');
  const final = await upgradeResult(await start(input));
  const { blue } = names(input);
  expect(final.status).toBe('ROLLED_BACK');
  // the call's retries end shortly before the limit, so the step fails with what it last failed with
  expect(final.failure).toMatchObject({
    step: 'promote',
    message: "nginx: upstream weights refused (still failing after retries until shortly before the step's time limit of 5s)",
    type: 'ScriptedFailure',
  });
  // the undo was registered before the first change, so it runs although no change went through
  expect(final.compensations).toContainEqual({ step: 'promote', what: 'traffic on blue', state: 'done' });
  expect(world.weightsOf(input.target)).toEqual([{ [blue]: 100 }]);
  expect(final.trafficSteps).toEqual([
    { weight: 10, analysis: [], startedAt: expect.any(String), endedAt: expect.any(String), outcome: 'failed' },
    { weight: 100, analysis: [] },
  ]);
  expect(final.traffic).toEqual({ blue: 100, green: 0 });
  expect(final.releases.blue?.phase).toBe('SERVING');
  expect(final.releases.green?.phase).toBe('OBSOLETE');
  expect(world.effectsOf(input.target)).not.toContain('do promote');
});

test("the Temporal UI's current details say which traffic step runs and what it waits for", async () => {
  const input = upgradeInput({ options: { traffic: [{ weight: 10, analysis: [], approve: true }, { weight: 100, analysis: [] }] } });
  const hold = world.hold(input.target, 'traffic');
  const h = await start(input);
  // what the UI shows: the workflow's user metadata
  const details = async () => (await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
  await eventually(async () => hold.started());
  expect(await details()).toBe('**RUNNING** at promote: traffic step 1 of 2 (green 10%): setting router weights');
  hold.release();
  await reachesStatus(h, 'AWAITING_APPROVAL');
  expect(await details()).toBe(
    '**AWAITING_APPROVAL** at promote (traffic blue 90 / green 10): approval before the next traffic step after traffic step 1 of 2 (green 10%) ' +
      '(traffic step 1 of 2 (green 10%) asks for approval): approve, or roll back',
  );
  await signedUpdate(h, approveUpdate, { by: 'bob', reason: 'canary fine' });
  expect((await upgradeResult(h)).status).toBe('SUCCEEDED');
});

test('a per-step approval, approved, continues to 100', async () => {
  const input = upgradeInput({ options: { traffic: [{ weight: 20, analysis: [], approve: true }, { weight: 100, analysis: [] }] } });
  const h = await start(input);
  await reachesStatus(h, 'AWAITING_APPROVAL');
  await signedUpdate(h, approveUpdate, { by: 'bob', reason: 'canary fine' });
  const final = await upgradeResult(h);
  expect(final.status).toBe('SUCCEEDED');
  expect(final.trafficSteps?.[0].approvedBy).toBe('bob');
});

test('an approval before finalize: rollback is possible at the gate, refused after it', async () => {
  const input = upgradeInput({ options: { approval: 'auto', approveBefore: ['finalize'] } });
  const hold = world.hold(input.target, 'finalize');
  const h = await start(input);
  await reachesStatus(h, 'AWAITING_APPROVAL');
  const waiting = await upgradeState(h);
  expect(waiting.step).toBe('finalize');
  expect(waiting.pointOfNoReturnPassed).toBe(false);
  expect(waiting.waitingFor).toContain('approval before finalize (finalize is the point of no return)');
  expect(world.effectsOf(input.target)).not.toContain('do finalize');
  await signedUpdate(h, approveUpdate, { by: 'bob', reason: 'migrations look fine' });
  await eventually(async () => hold.started());
  await expect(signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'too late' })).rejects.toMatchObject({
    cause: { message: expect.stringContaining('point of no return') },
  });
  hold.release();
  expect((await upgradeResult(h)).status).toBe('SUCCEEDED');
});

test('a rollback at the gate before finalize rolls back', async () => {
  const input = upgradeInput({ options: { approval: 'auto', approveBefore: ['finalize'] } });
  const h = await start(input);
  await reachesStatus(h, 'AWAITING_APPROVAL');
  await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'not today' });
  const final = await upgradeResult(h);
  expect(final.status).toBe('ROLLED_BACK');
  expect(world.effectsOf(input.target)).not.toContain('do finalize');
  expect(final.releases.blue?.phase).toBe('SERVING');
});

test('waitReady waits for the ready report: accepted for green, refused for blue', async () => {
  const input = upgradeInput({ options: { waitForReadyReport: true } });
  const { blue, green } = names(input);
  const h = await start(input);
  await reachesStep(h, 'waitReady');
  await eventually(async () => (await upgradeState(h)).waitingFor.includes('to report ready'));
  const refused = signedUpdate(h, reportReadyUpdate, { release: blue, ready: true, by: 'svc' });
  await expect(refused).rejects.toThrow(WorkflowUpdateFailedError);
  await expect(refused).rejects.toMatchObject({ cause: { message: expect.stringContaining(`${blue} is blue`) } });
  await signedUpdate(h, reportReadyUpdate, { release: green, ready: false, detail: 'projection at 80%', by: 'svc' });
  expect((await upgradeState(h)).step).toBe('waitReady');
  await signedUpdate(h, reportReadyUpdate, { release: green, ready: true, detail: 'caught up, self-tests pass', by: 'svc' });
  const final = await upgradeResult(h);
  expect(final.status).toBe('SUCCEEDED');
  expect(final.readyReport).toMatchObject({ ready: true, detail: 'caught up, self-tests pass', by: 'svc' });
  expect(final.transitions).toContainEqual(expect.objectContaining({ by: 'svc', why: `${green} reports not ready: projection at 80%` }));
  // once green serves, a report is refused
  await expect(signedUpdate(h, reportReadyUpdate, { release: green, ready: true, by: 'svc' })).rejects.toThrow();
});
