/**
 * cutover's own metrics: the workflow's sink calls, on the real dev server,
 * become prom-client series; weights of a retired release go away; an
 * analysis run's measurements are counted as they are taken.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowInfo } from '@temporalio/workflow';
import { Registry } from 'prom-client';
import { upgradeWorkflowId } from '../../src/domain/upgrade';
import { createAnalysisActivities } from '../../src/activities/analysis';
import { toAnalysisCheck } from '../../src/domain/analysis';
import { createAnalysisMetrics } from '../../src/runtime/analysisMetrics';
import { createWorkflowMetricsSinks } from '../../src/runtime/workflowMetrics';
import { exec } from '../support/activityHarness';
import { ScriptedWorld } from '../support/scriptedWorld';
import { connectSharedServer, startWorker, uniqueId, upgradeInput } from '../support/temporal';

const info = {} as WorkflowInfo;
/** One series' value, e.g. value(r, 'cutover_upgrade_status_total', { status: 'SUCCEEDED' }). */
async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

test('an upgrade on the dev server counts its statuses and sets its current one', async () => {
  const env: TestWorkflowEnvironment = await connectSharedServer();
  const registry = new Registry();
  const taskQueue = uniqueId('metrics');
  const world = new ScriptedWorld();
  const worker = await startWorker(env, taskQueue, world.activities(env.client), { sinks: createWorkflowMetricsSinks(registry) });
  try {
    const input = upgradeInput({ options: { approval: 'auto' } });
    await env.client.workflow.execute('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(input.target), args: [input] });
    expect(await value(registry, 'cutover_upgrade_status_total', { kind: 'emqx', status: 'RUNNING' })).toBe(1);
    expect(await value(registry, 'cutover_upgrade_status_total', { kind: 'emqx', status: 'SUCCEEDED' })).toBe(1);
    expect(await value(registry, 'cutover_upgrade_status', { target: input.target, status: 'SUCCEEDED' })).toBe(1);
    expect(await value(registry, 'cutover_upgrade_status', { target: input.target, status: 'RUNNING' })).toBe(0);
  } finally {
    await worker.stop();
    await env.teardown();
  }
});

test('traffic weights follow the releases; analysis runs and step durations are recorded', async () => {
  const registry = new Registry();
  const { metrics } = createWorkflowMetricsSinks(registry);
  metrics.trafficWeights.fn(info, { target: 'shop', weights: { 'shop-1': 90, 'shop-2': 10 } });
  metrics.trafficWeights.fn(info, { target: 'shop', weights: { 'shop-2': 100 } });
  expect(await value(registry, 'cutover_traffic_weight', { target: 'shop', release: 'shop-2' })).toBe(100);
  expect(await value(registry, 'cutover_traffic_weight', { target: 'shop', release: 'shop-1' })).toBeUndefined();

  metrics.analysisFinished.fn(info, {
    target: 'shop',
    kind: 'kong',
    provider: 'prometheus',
    result: {
      check: 'error-rate',
      phase: 'Failed',
      message: 'error-rate: 1 Successful, 1 Failed',
      measurements: [
        { at: '', phase: 'Error', message: 'down' },
        { at: '', phase: 'Successful', value: 0.01 },
        { at: '', phase: 'Failed', value: 0.3 },
      ],
    },
  });
  expect(await value(registry, 'cutover_analysis_runs_total', { kind: 'kong', check: 'error-rate', provider: 'prometheus', phase: 'Failed' })).toBe(1);

  metrics.stepFinished.fn(info, { kind: 'kong', step: 'promote', seconds: 42, outcome: 'completed' });
  expect(await registry.getSingleMetricAsString('cutover_step_duration_seconds')).toContain(
    'cutover_step_duration_seconds_sum{kind="kong",step="promote",outcome="completed"} 42',
  );
});

test('each measurement is counted as runAnalysis takes it, and its value is the last one shown', async () => {
  const registry = new Registry();
  const answers = [0.01, 0.3];
  const { runAnalysis } = createAnalysisActivities({
    providers: { scripted: { measure: async () => answers.shift() } },
    onMeasurement: createAnalysisMetrics(registry),
  });
  const check = toAnalysisCheck({ name: 'error-rate', provider: 'scripted', successCondition: 'result < 0.05', interval: '10ms', count: 2 });
  await exec(runAnalysis, { target: 'shop', check, vars: {} });
  const labels = { target: 'shop', check: 'error-rate', provider: 'scripted' };
  expect(await value(registry, 'cutover_analysis_measurements_total', { ...labels, phase: 'Successful' })).toBe(1);
  expect(await value(registry, 'cutover_analysis_measurements_total', { ...labels, phase: 'Failed' })).toBe(1);
  expect(await value(registry, 'cutover_analysis_last_value', { target: 'shop', check: 'error-rate' })).toBe(0.3);
});
