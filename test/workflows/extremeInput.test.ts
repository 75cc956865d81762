/**
 * The extreme-input test: the largest values the API accepts, through the
 * API, the real workflow (scripted strategy) and the real runAnalysis, on the
 * time-skipping server, end SUCCEEDED or ROLLED_BACK, never stuck, with a
 * history under the estimate the API made at the start and under the budget.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { BODY_LIMIT_BYTES } from '../../src/api/errors';
import { upgradeInputFor } from '../../src/api/upgradeInput';
import { HISTORY_BUDGET, overBudget } from '../../src/domain/historyBudget';
import { MAX_READY_REPORTS } from '../../src/domain/decisions';
import { KEPT_MEASUREMENTS } from '../../src/domain/analysis';
import { temporalTestServerPath } from '../../src/runtime/binaries';
import { ensureSearchAttributes } from '../../src/runtime/searchAttributes';
import { LONGEST, extremeBody, extremeConfig, extremeWorker, runThroughApi, startChecksService, worstAccepted } from '../support/extremeUpgrade';
import { uniqueId } from '../support/temporal';

const DAY = 86_400_000;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let checks: Awaited<ReturnType<typeof startChecksService>>;
const taskQueue = uniqueId('extreme');

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: temporalTestServerPath() } } });
  await ensureSearchAttributes(env.connection, 'default');
  checks = await startChecksService();
  worker = await extremeWorker(env, taskQueue, { codePath: process.env.CUTOVER_TEST_WORKFLOW_BUNDLE! });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await checks?.close();
  await env?.teardown();
});

test('every option at its largest accepted value, the plan as large as the budget allows: SUCCEEDED, its history under the estimate and the budget', async () => {
  const config = extremeConfig(uniqueId('extreme'), taskQueue);
  const { body, runs, estimate } = worstAccepted(config, checks.url);
  // a request that fits the API's body limit, and one analysis run more would be over the budget
  expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(BODY_LIMIT_BYTES);
  expect(runs).toBeGreaterThan(0);
  expect(overBudget(estimate)).toBeUndefined();

  const run = await runThroughApi(env, config, body);
  expect(run.final.status).toBe('SUCCEEDED');
  expect(run.reports).toEqual({ recorded: MAX_READY_REPORTS, repeats: MAX_READY_REPORTS - 1 });
  expect(run.approvals).toBe(4);
  // 100 pauses of 30 days, the standby window, both gates' auto-promotions: workflow time
  expect(Date.parse(run.final.endedAt!) - Date.parse(run.final.startedAt)).toBeGreaterThan(102 * 30 * DAY);
  const deep = run.final.analysis![0];
  expect(deep).toMatchObject({ check: 'c00', phase: 'Successful', taken: { Successful: 1000 } });
  expect(deep.measurements).toHaveLength(KEPT_MEASUREMENTS);
  expect(run.final.trafficSteps!.flatMap((s) => s.analysis)).toHaveLength(runs);

  expect(run.events).toBeLessThanOrEqual(estimate.events);
  expect(run.bytes).toBeLessThanOrEqual(estimate.bytes);
  expect(JSON.stringify(run.final).length).toBeLessThanOrEqual(estimate.payloadBytes);
  expect(estimate.events).toBeLessThanOrEqual(HISTORY_BUDGET.events);
  expect(estimate.bytes).toBeLessThanOrEqual(HISTORY_BUDGET.bytes);
  console.log(`worst accepted upgrade: ${runs} analysis runs in the plan; history ${run.events} events, ${Math.round(run.bytes / 1024)} KiB; estimate ${estimate.events} events, ${Math.round(estimate.bytes / 1024)} KiB`);
}, 600_000);

test('one analysis run more than the worst accepted is refused (400), naming the estimate and the budget', () => {
  const config = extremeConfig(uniqueId('extreme'), taskQueue);
  const { runs } = worstAccepted(config, checks.url);
  const over = extremeBody(config.targets[0].name, checks.url, runs + 1);
  expect(() => upgradeInputFor(config, over, 'operator')).toThrow(
    expect.objectContaining({ status: 400, field: 'options', message: expect.stringMatching(/^options would give a history of up to \d+ events, \d+ KiB, its largest payload \d+ KiB: over the budget \(.+\); give fewer traffic steps or analysis checks$/) }),
  );
});

test("a step time limit of 30 days on every step: promote's passes in the plan's second pause, and the upgrade rolls back", async () => {
  const config = extremeConfig(uniqueId('extreme'), taskQueue);
  const body = extremeBody(config.targets[0].name, checks.url, 0, '20d');
  body.options = { ...body.options, waitForReadyReport: false, stepTimeouts: { ...body.options!.stepTimeouts, promote: LONGEST } };
  const run = await runThroughApi(env, config, body);
  expect(run.final.status).toBe('ROLLED_BACK');
  expect(run.final.failure).toMatchObject({ step: 'promote', type: 'StepTimeout', message: 'step promote did not finish within its time limit of 720h' });
  expect(run.final.trafficSteps!.map((s) => s.outcome).slice(0, 3)).toEqual(['completed', 'failed', undefined]);
  expect(run.final.releases.blue?.phase).toBe('SERVING');
  expect(run.final.traffic).toEqual({ blue: 100, green: 0 });
}, 300_000);
