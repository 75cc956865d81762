/**
 * Bench section "emqxRollback": a rollback asked for during the EMQX standby
 * window, on the local sandbox of npm start (3 sandbox EMQX nodes behind
 * nginx, the shipped workflow and real activities, a dev server of its own).
 * Each run upgrades 5.7.0 -> 5.8.0 up to standBy, then asks for a rollback and
 * measures the time from the request to nginx serving blue: its workers run a
 * config whose MQTT upstream is blue's nodes, and a new MQTT client through
 * nginx is accepted (blue's evacuations stopped). BENCH_ROLLBACK_RUNS (10).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import mqtt from 'mqtt';
import { createActivities } from '../src/activities';
import type { TargetConfig } from '../src/config/targets';
import { upgradeWorkflowId, type UpgradeInput, type UpgradeState } from '../src/domain/upgrade';
import { startDevServer } from '../src/runtime/devServer';
import { freePort } from '../src/runtime/freePort';
import { workerDefaults } from '../src/runtime/workerDefaults';
import { createLocalSandboxes } from '../src/sandbox';
import { rollbackUpdate, stateQuery } from '../src/workflows/messages';
import { routedMqttPorts } from '../test/sandbox/helpers';
import { latency, type BenchSection } from './section';

const RUNS = Number(process.env.BENCH_ROLLBACK_RUNS ?? 10);
const TASK_QUEUE = 'bench-emqx-rollback';
const TARGET = 'bench-emqx';
const FAST = { connEvictRate: 1000, sessEvictRate: 1000, waitTakeoverSec: 0, waitHealthCheckSec: 0, initialDelayMs: 100, drainIntervalMs: 500 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(): Promise<Record<string, unknown>> {
  const dev = await startDevServer({ port: await freePort() });
  const dataDir = mkdtempSync(join(tmpdir(), 'cutover-bench-rollback-'));
  const ports = { mqtt: await freePort(), api: await freePort(), status: await freePort() };
  const target: TargetConfig = {
    name: TARGET,
    kind: 'emqx',
    local: { cluster: TARGET, version: '5.7.0', replicas: 3, ports },
    emqx: { apiUrl: `http://127.0.0.1:${ports.api}`, apiKey: { env: 'KEY' }, apiSecret: { env: 'SECRET' } },
  };
  const secrets: NodeJS.ProcessEnv = {};
  const sandbox = createLocalSandboxes([target], dataDir, secrets).get(TARGET)!;
  const toBlue: number[] = [];
  const toAccepted: number[] = [];
  const outcomes: string[] = [];
  try {
    await sandbox.start();
    const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: dev.address }),
      taskQueue: TASK_QUEUE,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: new DefaultLogger('ERROR') }),
      activities: createActivities([target], { sandboxes: new Map([[TARGET, sandbox]]), env: secrets, pollMs: 100, temporal: client }),
      ...workerDefaults(),
    });
    const running = worker.run();
    const blue = await sandbox.read((s) => s.releases[s.service]!.ports.map((p) => p.mqtt!).sort((a, b) => a - b));
    for (let i = 0; i < RUNS; i++) {
      const input: UpgradeInput = {
        kind: 'emqx',
        target: TARGET,
        version: '5.8.0',
        requestedBy: 'bench',
        options: { approval: 'auto', standbyWindowMs: 600_000, stepTimeoutMs: {}, maxAttempts: 3, requireDistinctApprover: false, settings: { emqx: FAST } },
      };
      const h = await client.workflow.start('blueGreenUpgrade', { taskQueue: TASK_QUEUE, workflowId: upgradeWorkflowId(TARGET), args: [input] });
      for (;;) {
        const s = await h.query(stateQuery);
        if (s.step === 'standBy') break;
        if (!['RUNNING', 'AWAITING_APPROVAL'].includes(s.status)) throw new Error(`run ${i}: upgrade ${s.status} before the standby window: ${JSON.stringify(s.failure)}`);
        await sleep(100);
      }
      const t0 = performance.now();
      void h.executeUpdate(rollbackUpdate, { args: [{ by: 'bench', reason: 'rollback in the standby window' }] });
      while (JSON.stringify(await routedMqttPorts(sandbox.nginx.prefix, ports.status)) !== JSON.stringify(blue)) await sleep(5);
      toBlue.push(performance.now() - t0);
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { clientId: `bench-${i}`, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
      toAccepted.push(performance.now() - t0);
      await c.endAsync();
      outcomes.push(((await h.result()) as UpgradeState).status);
    }
    worker.shutdown();
    await running;
  } finally {
    await sandbox.stop();
    await dev.stop();
  }
  return {
    runs: RUNS,
    outcomes: [...new Set(outcomes)],
    requestToNginxServingBlue: latency(toBlue),
    requestToNginxServingBlueEachRunMs: toBlue.map((ms) => Math.round(ms)),
    requestToNewClientAcceptedOnBlue: latency(toAccepted),
  };
}

export const emqxRollbackBench: BenchSection = { name: 'emqxRollback', run };
