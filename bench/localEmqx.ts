/**
 * What the EMQX bench sections on the local platform run on: the sandbox of
 * npm start for one target (3 sandbox EMQX nodes behind nginx), the shipped
 * workflow and the real activities on a worker, and a dev server of their own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../src/activities';
import type { TargetConfig } from '../src/config/targets';
import { upgradeWorkflowId, type UpgradeOptions } from '../src/domain/upgrade';
import { startDevServer } from '../src/embedded/devServer';
import { freePort } from '../src/runtime/freePort';
import { workerDefaults } from '../src/runtime/workerDefaults';
import { createLocalSandboxes } from '../src/sandbox';
import type { LocalSandbox } from '../src/sandbox/localSandbox';
import { TEST_STEERING_KEYS } from '../test/support/steering';

/** Evacuations and waits as short as the sandbox allows: the benches time traffic, not the drain. */
const FAST = { connEvictRate: 1000, sessEvictRate: 1000, waitTakeoverMs: 0, waitHealthCheckMs: 0, initialDelayMs: 100, drainIntervalMs: 500 };

export interface LocalEmqx {
  readonly target: string;
  readonly sandbox: LocalSandbox;
  readonly ports: { mqtt: number; api: number; status: number };
  readonly client: Client;
  /** Starts the shipped workflow: an upgrade of the target to `version`, auto-approved, with these options over the defaults. */
  upgrade(version: string, options?: Partial<UpgradeOptions>): Promise<WorkflowHandle>;
}

export async function withLocalEmqx<T>(target: string, fn: (e: LocalEmqx) => Promise<T>): Promise<T> {
  const dev = await startDevServer({ port: await freePort() });
  const dataDir = mkdtempSync(join(tmpdir(), `cutover-${target}-`));
  const ports = { mqtt: await freePort(), api: await freePort(), status: await freePort() };
  const config: TargetConfig = {
    name: target,
    kind: 'emqx',
    local: { cluster: target, version: '5.7.0', replicas: 3, ports },
    emqx: { apiUrl: `http://127.0.0.1:${ports.api}`, apiKey: { env: 'KEY' }, apiSecret: { env: 'SECRET' } },
  };
  const secrets: NodeJS.ProcessEnv = {};
  const sandbox = createLocalSandboxes([config], dataDir, secrets).get(target)!;
  const taskQueue = `bench-${target}`;
  try {
    await sandbox.start();
    const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: dev.address }),
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: new DefaultLogger('ERROR') }),
      activities: createActivities([config], { sandboxes: new Map([[target, sandbox]]), env: secrets, pollMs: 100, temporal: client, steeringKeys: TEST_STEERING_KEYS }),
      ...workerDefaults(),
    });
    const upgrade = (version: string, options: Partial<UpgradeOptions> = {}) =>
      client.workflow.start('blueGreenUpgrade', {
        taskQueue,
        workflowId: upgradeWorkflowId(target),
        args: [
          {
            kind: 'emqx',
            target,
            version,
            requestedBy: 'bench',
            options: { approval: 'auto', standbyWindowMs: 600_000, maxAttempts: 3, ...options },
            settings: { emqx: FAST },
          },
        ],
      });
    return await worker.runUntil(() => fn({ target, sandbox, ports, client, upgrade }));
  } finally {
    await sandbox.stop();
    await dev.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
