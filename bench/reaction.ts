/**
 * Bench section "reaction": how soon cutover acts on what people and services
 * do, on a dev server of its own with the scripted strategy (the tests assert
 * the behaviour and its order; the figures are here):
 *
 * - longPoll: fifty services long-polling one release's phase, from the
 *   green release's ready report (POST .../ready) to each answer
 * - cancellation: a Temporal cancellation of an upgrade whose verify step
 *   waits (heartbeat timeout a minute), from the cancel to ROLLED_BACK
 */
import { join } from 'node:path';
import { buildServer } from '../src/api/server';
import { loadConfig } from '../src/config/file';
import { releaseName, upgradeWorkflowId, type UpgradeState } from '../src/domain/upgrade';
import { projectRoot } from '../src/runtime/binaries';
import { KIND, TARGET } from '../src/workflows/searchAttributes';
import { TEST_STEERING_KEYS } from '../test/support/steering';
import { scriptedInput, startScriptedWorker } from './scriptedWorker';
import { latency, type BenchSection } from './section';

const WAITERS = Number(process.env.BENCH_LONG_POLLS ?? 50);
const CANCELLATIONS = Number(process.env.BENCH_CANCELLATIONS ?? 5);
const TASK_QUEUE = 'bench-reaction';
/** A target of the shipped config whose upgrades wait for green's ready report (kind projection). */
const TARGET_NAME = 'sandbox-projection';

const until = async (probe: () => Promise<boolean>): Promise<void> => {
  while (!(await probe())) await new Promise((r) => setTimeout(r, 20));
};

async function run(): Promise<Record<string, unknown>> {
  const scripted = await startScriptedWorker(TASK_QUEUE);
  const { client, world } = scripted;
  try {
    const loaded = loadConfig({ CUTOVER_CONFIG: join(projectRoot, 'cutover.config.yaml'), CUTOVER_API_RATE_LIMIT: '1000000' });
    const config = { ...loaded, env: { ...loaded.env, temporal: { ...loaded.env.temporal, taskQueue: TASK_QUEUE } }, steering: TEST_STEERING_KEYS };
    const app = await buildServer({ client, config });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const operator = { authorization: `Bearer ${config.auth.principals.find((p) => p.roles.includes('operator'))!.token}`, 'content-type': 'application/json' };
    const api = async (method: string, path: string, body?: object) => {
      const r = await fetch(`${address}${path}`, { method, headers: operator, ...(body ? { body: JSON.stringify(body) } : {}) });
      return (await r.json()) as Record<string, unknown>;
    };

    // fifty long polls on green's phase, answered when its ready report promotes it
    const hold = world.hold(TARGET_NAME, 'waitReady');
    const started = await api('POST', '/v1/upgrades', { kind: 'projection', target: TARGET_NAME, version: '2.0.0' });
    const green = releaseName(TARGET_NAME, '2.0.0');
    await until(async () => hold.started());
    const answeredAt: number[] = [];
    const waits = Array.from({ length: WAITERS }, () =>
      api('GET', `/v1/targets/${TARGET_NAME}/releases/${green}/phase?waitForChange=30s`).then(() => answeredAt.push(performance.now())),
    );
    // all of them waiting before the change, or a late one would wait for the next
    const waiting = `cutover_phase_watch_waiters{target="${TARGET_NAME}"} ${WAITERS}`;
    await until(async () => (await (await fetch(`${address}/metrics`)).text()).includes(waiting));
    hold.release();
    await until(async () => String((await api('GET', `/v1/upgrades/${String(started.id)}`)).waitingFor).includes('to report ready'));
    const reported = performance.now();
    await api('POST', `/v1/targets/${TARGET_NAME}/releases/${green}/ready`, { ready: true, detail: 'bench' });
    await Promise.all(waits);
    const longPoll = { waiters: WAITERS, fromReadyReport: latency(answeredAt.map((t) => t - reported)) };
    await client.workflow.getHandle(upgradeWorkflowId(TARGET_NAME)).terminate('bench done');
    await app.close();

    // cancellations of an upgrade waiting in verify
    const ms: number[] = [];
    for (let i = 0; i < CANCELLATIONS; i++) {
      const target = `bench-cancel-${i}`;
      const held = world.hold(target, 'verify');
      const input = scriptedInput(target);
      const h = await client.workflow.start('blueGreenUpgrade', {
        taskQueue: TASK_QUEUE,
        workflowId: upgradeWorkflowId(target),
        args: [input],
        typedSearchAttributes: [
          { key: TARGET, value: target },
          { key: KIND, value: input.kind },
        ],
      });
      // past the first heartbeat, which the SDK always sends at once
      await until(async () => held.beats() >= 10);
      const t = performance.now();
      await h.cancel();
      const final = (await h.result()) as UpgradeState;
      if (final.status !== 'ROLLED_BACK') throw new Error(`cancelled upgrade ended ${final.status}`);
      ms.push(performance.now() - t);
    }
    return { longPoll, cancellation: { toRolledBack: latency(ms) } };
  } finally {
    await scripted.stop();
  }
}

export const reactionBench: BenchSection = { name: 'reaction', run };
