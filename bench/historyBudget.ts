/**
 * Bench section "historyBudget": the history of the worst upgrade the API
 * accepts (every option at its largest, as many analysis runs in its 100-step
 * traffic plan as the budget lets it have, every ready report a release may
 * send, an approval at every 25th step), run through the API, the real
 * workflow and the real runAnalysis on the time-skipping server, against the
 * estimate the API made at its start and the budget (src/domain/historyBudget.ts).
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { HISTORY_BUDGET } from '../src/domain/historyBudget';
import { temporalTestServerPath } from '../src/runtime/binaries';
import { ensureSearchAttributes } from '../src/runtime/searchAttributes';
import { extremeConfig, extremeWorker, runThroughApi, startChecksService, worstAccepted } from '../test/support/extremeUpgrade';
import type { BenchSection } from './section';

const TASK_QUEUE = 'bench-history-budget';
const kib = (bytes: number) => Math.round(bytes / 1024);

async function run(): Promise<Record<string, unknown>> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: temporalTestServerPath() } } });
  const checks = await startChecksService();
  try {
    await ensureSearchAttributes(env.connection, 'default');
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../test/support/workflows'), logger: new DefaultLogger('ERROR') });
    const worker = await extremeWorker(env, TASK_QUEUE, { code });
    return await worker.runUntil(async () => {
      const config = extremeConfig('bench-history-budget', TASK_QUEUE);
      const { body, runs, estimate } = worstAccepted(config, checks.url);
      const began = Date.now();
      const r = await runThroughApi(env, config, body);
      return {
        upgrade: `100 traffic steps (30-day pauses, approval at every 25th), ${runs} analysis runs in them and 20 at verify (one of 1,000 measurements), 20 ready reports, every duration at its largest`,
        status: r.final.status,
        seconds: +((Date.now() - began) / 1000).toFixed(1),
        history: { events: r.events, kib: kib(r.bytes), stateKib: kib(JSON.stringify(r.final).length) },
        estimate: { events: estimate.events, kib: kib(estimate.bytes), largestPayloadKib: kib(estimate.payloadBytes) },
        budget: { events: HISTORY_BUDGET.events, kib: kib(HISTORY_BUDGET.bytes), payloadKib: kib(HISTORY_BUDGET.payloadBytes) },
        underBudget: r.events <= HISTORY_BUDGET.events && r.bytes <= HISTORY_BUDGET.bytes,
        underEstimate: r.events <= estimate.events && r.bytes <= estimate.bytes,
      };
    });
  } finally {
    await checks.close();
    await env.teardown();
  }
}

export const historyBudgetBench: BenchSection = { name: 'historyBudget', run };
