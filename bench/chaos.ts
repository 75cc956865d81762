/**
 * Bench section "chaos": what faults in front of the targets' APIs cost an
 * upgrade. Per kind (EMQX, Kong and projection on the local platform, EMQX
 * on the Kubernetes control plane), BENCH_CHAOS_RUNS rounds of the same
 * upgrade run clean and then through the fault proxies (30% of calls
 * answered 503, 5% reset, the rest delayed up to 300 ms; a seed per round),
 * as the chaos tests run them (test/chaos/upgrades.ts), on a dev server and a
 * control plane of the section's own. Reported: each run's time from start
 * to result, the medians, their ratio (chaos / clean), the faults injected,
 * the attempts Temporal retried and the history's size: a retry adds no event.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { startDevServer } from '../src/embedded/devServer';
import { freePort } from '../src/runtime/freePort';
import { FaultInjector, type FaultCounts } from '../src/sandbox/faultProxy';
import { CHAOS, emqxKubernetes, emqxLocal, kongLocal, projectionLocal, SEEDS, type UpgradeRun } from '../test/chaos/upgrades';
import { EmqxOnKube } from '../test/support/emqxOnKube';
import { KUBE_ENV } from '../test/support/kube';
import { startControlPlane } from '../test/support/kubeControlPlane';
import { connectSharedServer, uniqueId } from '../test/support/temporal';
import { percentile, type BenchSection } from './section';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

const ROUNDS = Number(process.env.BENCH_CHAOS_RUNS ?? 3);

type Runner = (env: TestWorkflowEnvironment, faults?: FaultInjector) => Promise<UpgradeRun>;

const KINDS: Record<string, { seed: number; run: Runner }> = {
  emqxLocal: { seed: SEEDS.emqxLocal, run: emqxLocal },
  kongLocal: { seed: SEEDS.kongLocal, run: kongLocal },
  projectionLocal: { seed: SEEDS.projectionLocal, run: projectionLocal },
  emqxKubernetes: {
    seed: SEEDS.emqxKubernetes,
    run: async (env, faults) => {
      const sys = await EmqxOnKube.start(uniqueId('bench-chaos'));
      try {
        return await emqxKubernetes(env, sys, faults);
      } finally {
        await sys.close();
      }
    },
  },
};

const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
const sum = (runs: FaultCounts[]): FaultCounts =>
  runs.reduce((t, c) => ({ calls: t.calls + c.calls, failed: t.failed + c.failed, resetBefore: t.resetBefore + c.resetBefore, resetAfter: t.resetAfter + c.resetAfter, delayed: t.delayed + c.delayed }));

async function measure(env: TestWorkflowEnvironment, name: string, kind: { seed: number; run: Runner }): Promise<Record<string, unknown>> {
  const clean: UpgradeRun[] = [];
  const chaos: UpgradeRun[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    clean.push(await kind.run(env));
    const faults = new FaultInjector(CHAOS, kind.seed + round);
    try {
      chaos.push(await kind.run(env, faults));
    } finally {
      await faults.close();
    }
    process.stdout.write(`bench chaos ${name} round ${round + 1}: clean ${clean.at(-1)!.final.status} ${clean.at(-1)!.ms} ms, chaos ${chaos.at(-1)!.final.status} ${chaos.at(-1)!.ms} ms\n`);
  }
  const cleanMs = median(clean.map((r) => r.ms));
  const chaosMs = median(chaos.map((r) => r.ms));
  return {
    clean: { statuses: clean.map((r) => r.final.status), ms: clean.map((r) => r.ms), medianMs: cleanMs, historyEvents: clean.map((r) => r.history.events) },
    chaos: {
      statuses: chaos.map((r) => r.final.status),
      ms: chaos.map((r) => r.ms),
      medianMs: chaosMs,
      historyEvents: chaos.map((r) => r.history.events),
      temporalRetries: chaos.map((r) => r.history.retries),
      faults: sum(chaos.map((r) => r.faults!)),
    },
    ratio: +(chaosMs / cleanMs).toFixed(2),
  };
}

async function run(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-bench-chaos-'));
  const dev = await startDevServer({ port: await freePort() });
  const plane = await startControlPlane();
  try {
    // what the jest set-up gives the test harness: a dev server, the shipped bundle, a control plane
    process.env.CUTOVER_TEST_TEMPORAL_ADDRESS = dev.address;
    process.env.CUTOVER_WORKFLOW_BUNDLE = join(dir, 'production-bundle.js');
    writeFileSync(process.env.CUTOVER_WORKFLOW_BUNDLE, (await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: new DefaultLogger('ERROR') })).code);
    process.env[KUBE_ENV.url] = plane.url;
    process.env[KUBE_ENV.token] = plane.token;
    const env = await connectSharedServer();
    const results: Record<string, unknown> = {
      what: `ms from the start of the shipped workflow to its result, the same upgrade clean and with ${CHAOS.fail * 100}% of calls answered 503, ${CHAOS.reset * 100}% reset, the rest delayed up to ${CHAOS.maxDelayMs} ms`,
      rounds: ROUNDS,
    };
    for (const [name, kind] of Object.entries(KINDS)) results[name] = await measure(env, name, kind);
    await env.teardown();
    return results;
  } finally {
    await plane.stop();
    await dev.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const chaosBench: BenchSection = { name: 'chaos', run };
