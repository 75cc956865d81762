/**
 * Bench section "trafficPlan": the history size of a 10-step traffic plan
 * (green 10%, 20%, ... 100%) with a 30-minute analysis at each step (60
 * measurements 30 s apart), on the time-skipping server. runAnalysis is one
 * activity per step that returns all its measurements at once, so the plan
 * should add a handful of events per step (target: under 300 in all). Here
 * the activity answers at once with 60 measurements: heartbeats and the
 * measurement interval add no events, only its result's size counts.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import type { AnalysisCheck, AnalysisResult } from '../src/domain/analysis';
import { upgradeWorkflowId, type UpgradeState } from '../src/domain/upgrade';
import { completeInput } from '../src/domain/upgradeSettings';
import { temporalTestServerPath } from '../src/runtime/binaries';
import { ensureSearchAttributes } from '../src/runtime/searchAttributes';
import { workerDefaults } from '../src/runtime/workerDefaults';
import { ScriptedWorld } from '../test/support/scriptedWorld';
import type { BenchSection } from './section';

const STEPS = 10;
const MEASUREMENTS = 60;
const INTERVAL_MS = 30_000;
const TASK_QUEUE = 'bench-traffic';

const check: AnalysisCheck = {
  name: 'error-rate',
  provider: 'prometheus',
  query: 'sum(rate(errors{release="{{green}}"}[1m]))',
  intervalMs: INTERVAL_MS,
  count: MEASUREMENTS,
  successCondition: 'result < 0.05',
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  onInconclusive: 'pause',
};

/** What runAnalysis returns after 30 minutes of measurements. */
async function runAnalysis(i: { check: AnalysisCheck }): Promise<AnalysisResult> {
  const start = Date.parse('2026-01-01T00:00:00Z');
  const measurements = Array.from({ length: MEASUREMENTS }, (_, n) => ({
    at: new Date(start + n * INTERVAL_MS).toISOString(),
    phase: 'Successful' as const,
    value: 0.004,
  }));
  return { check: i.check.name, phase: 'Successful', measurements, message: `${i.check.name}: ${MEASUREMENTS} Successful` };
}

async function run(): Promise<Record<string, unknown>> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: temporalTestServerPath() } } });
  try {
    await ensureSearchAttributes(env.connection, 'default');
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../test/support/workflows'), logger: new DefaultLogger('ERROR') });
    const world = new ScriptedWorld();
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: { code },
      activities: { ...world.activities(env.client), runAnalysis },
      ...workerDefaults(),
    });
    return await worker.runUntil(async () => {
      const input = completeInput({
        kind: 'emqx',
        target: 'bench-traffic-plan',
        version: '2.0.0',
        requestedBy: 'bench',
        options: {
          approval: 'auto',
          standbyWindowMs: 10 * 60_000,
          maxAttempts: 3,
          traffic: Array.from({ length: STEPS }, (_, n) => ({ weight: (n + 1) * (100 / STEPS), analysis: [check] })),
        },
      });
      const h = await env.client.workflow.start('blueGreenUpgrade', { taskQueue: TASK_QUEUE, workflowId: upgradeWorkflowId(input.target), args: [input] });
      const final = (await h.result()) as UpgradeState;
      const history = await h.fetchHistory();
      const events = history.events?.length ?? 0;
      return {
        plan: `${STEPS} steps, ${MEASUREMENTS} measurements ${INTERVAL_MS / 1000}s apart (30 min) at each`,
        status: final.status,
        events,
        bytes: JSON.stringify(history).length,
        underTarget: events < 300,
      };
    });
  } finally {
    await env.teardown();
  }
}

export const trafficPlanBench: BenchSection = { name: 'trafficPlan', run };
