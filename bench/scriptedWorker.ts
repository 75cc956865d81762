/** A dev server of a section's own with one worker of the scripted strategy on it, and the upgrades it runs. */
import { completeInput, type GivenOptions } from '../src/domain/upgradeSettings';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { UpgradeInput } from '../src/domain/upgrade';
import { startDevServer, type DevServer } from '../src/embedded/devServer';
import { freePort } from '../src/runtime/freePort';
import { workerDefaults } from '../src/runtime/workerDefaults';
import { ScriptedWorld } from '../test/support/scriptedWorld';

export interface ScriptedWorker {
  dev: DevServer;
  client: Client;
  world: ScriptedWorld;
  /** Shuts the worker down, then the dev server. */
  stop(): Promise<void>;
}

export async function startScriptedWorker(taskQueue: string, extra: Partial<WorkerOptions> = {}): Promise<ScriptedWorker> {
  const dev = await startDevServer({ port: await freePort() });
  try {
    const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../test/support/workflows'), logger: new DefaultLogger('ERROR') });
    const world = new ScriptedWorld();
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: dev.address }),
      taskQueue,
      workflowBundle: { code },
      activities: world.activities(client),
      ...workerDefaults(),
      ...extra,
    });
    const running = worker.run();
    return {
      dev,
      client,
      world,
      stop: async () => {
        worker.shutdown();
        await running;
        await dev.stop();
      },
    };
  } catch (err) {
    await dev.stop();
    throw err;
  }
}

/** An upgrade for the scripted strategy: auto-approved, a 10 ms standby window unless the options say otherwise. */
export function scriptedInput(target: string, options: GivenOptions = {}): UpgradeInput {
  return completeInput({ kind: 'emqx', target, version: '2.0.0', requestedBy: 'bench', options: { approval: 'auto', standbyWindowMs: 10, maxAttempts: 3, ...options } });
}
