/**
 * Bench section "skeleton": what an upgrade costs Temporal and how the API
 * holds up, on a real dev server of its own.
 *
 * - history: events and bytes of one whole upgrade (scripted strategy), and of
 *   one with a 24-hour standby window: a long wait must add a handful of
 *   events, not thousands (the README's Architecture)
 * - throughput: N upgrades of N targets at once on one worker, wall time
 * - api: latency of GET /v1/upgrades/:id (a query through Temporal), of
 *   POST .../approve refused with 409 by the update's validator (a running
 *   upgrade not at its gate), refused because the upgrade has ended, and
 *   taken (signed by the API, verified by the worker's local activity)
 * - memory: the process's RSS after all of it
 */
import { join } from 'node:path';
import { buildServer } from '../src/api/server';
import { loadConfig } from '../src/config/file';
import { upgradeWorkflowId, type UpgradeInput, type UpgradeState } from '../src/domain/upgrade';
import { projectRoot } from '../src/runtime/binaries';
import { TARGET, KIND } from '../src/workflows/searchAttributes';
import { TEST_STEERING_KEYS } from '../test/support/steering';
import { scriptedInput, startScriptedWorker } from './scriptedWorker';
import { latency, type BenchSection } from './section';

const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 20);
const API_REQUESTS = Number(process.env.BENCH_API_REQUESTS ?? 300);
const APPROVALS = Number(process.env.BENCH_APPROVALS ?? 20);
const TASK_QUEUE = 'bench';


async function run(): Promise<Record<string, unknown>> {
  const scripted = await startScriptedWorker(TASK_QUEUE, { maxConcurrentWorkflowTaskExecutions: 100 });
  const { client, world } = scripted;
  const results: Record<string, unknown> = {};
  try {

    const start = (i: UpgradeInput) =>
      client.workflow.start('blueGreenUpgrade', {
        taskQueue: TASK_QUEUE,
        workflowId: upgradeWorkflowId(i.target),
        args: [i],
        typedSearchAttributes: [
          { key: TARGET, value: i.target },
          { key: KIND, value: i.kind },
        ],
      });
    const historyOf = async (target: string) => {
      const history = await client.workflow.getHandle(upgradeWorkflowId(target)).fetchHistory();
      return { events: history.events?.length ?? 0, bytes: JSON.stringify(history).length };
    };

    // history of one upgrade, and of one whose standby window lasts a day (cut short by rollback after the timer starts)
    const one = await start(scriptedInput('bench-history'));
    await one.result();
    results.history = await historyOf('bench-history');

    // throughput
    const t0 = performance.now();
    const handles = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => start(scriptedInput(`bench-${i}`))));
    const finals = (await Promise.all(handles.map((h) => h.result()))) as UpgradeState[];
    const wall = performance.now() - t0;
    results.throughput = {
      upgrades: CONCURRENT,
      succeeded: finals.filter((f) => f.status === 'SUCCEEDED').length,
      wallMs: Math.round(wall),
      upgradesPerSecond: Number(((CONCURRENT * 1000) / wall).toFixed(2)),
    };

    // API latency against a running upgrade waiting at the gate
    // the API's own limits would stop a bench that is one principal asking hundreds of times; the workers hold the test key
    const loaded = loadConfig({ CUTOVER_CONFIG: join(projectRoot, 'cutover.config.yaml'), CUTOVER_API_RATE_LIMIT: '1000000' });
    const config = { ...loaded, steering: TEST_STEERING_KEYS };
    const app = await buildServer({ client, config });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const gated = await start(scriptedInput('bench-api', { approval: 'manual' }));
    const id = `bench-api.${gated.firstExecutionRunId}`;
    const token = config.auth.principals.find((p) => p.roles.includes('approver'))!.token;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const time = async (fn: () => Promise<Response>, expectStatus: number, times = API_REQUESTS) => {
      const ms: number[] = [];
      for (let i = 0; i < times; i++) {
        const t = performance.now();
        const r = await fn();
        await r.arrayBuffer();
        if (r.status !== expectStatus) throw new Error(`expected ${expectStatus}, got ${r.status}`);
        ms.push(performance.now() - t);
      }
      return latency(ms);
    };
    world.hold('bench-validator', 'verify');
    const held = await start(scriptedInput('bench-validator'));
    const approve = (upgradeId: string) => () =>
      fetch(`${address}/v1/upgrades/${upgradeId}/approve`, { method: 'POST', headers, body: JSON.stringify({ reason: 'bench' }) });
    const gates = await Promise.all(Array.from({ length: APPROVALS }, (_, i) => start(scriptedInput(`bench-approve-${i}`, { approval: 'manual' }))));
    for (const g of gates) while (((await g.query('state')) as UpgradeState).status !== 'AWAITING_APPROVAL') await new Promise((r) => setTimeout(r, 50));
    let next = 0;
    results.api = {
      getUpgrade: await time(() => fetch(`${address}/v1/upgrades/${id}`, { headers }), 200),
      approveRefusedByValidator: await time(approve(`bench-validator.${held.firstExecutionRunId}`), 409),
      approveRefusedAfterEnd: await time(approve(`bench-history.${one.firstExecutionRunId}`), 409),
    };
    results.api = {
      ...(results.api as object),
      approveTaken: await time(() => approve(`bench-approve-${next}.${gates[next++].firstExecutionRunId}`)(), 200, APPROVALS),
    };
    await Promise.all([gated.terminate('bench done'), held.terminate('bench done')]);
    await app.close();

    const day = await start(scriptedInput('bench-standby', { standbyWindowMs: 24 * 3_600_000 }));
    for (;;) {
      const s = await day.query('state');
      if ((s as UpgradeState).step === 'standBy') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    results.historyDuringDayLongStandby = await historyOf('bench-standby');
    await day.terminate('bench done');

    results.memory = { rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) };
  } finally {
    await scripted.stop();
  }
  return results;
}

export const skeletonBench: BenchSection = { name: 'skeleton', run };
