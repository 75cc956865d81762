/** The stack of `npm start` built in the test process: a local sandbox EMQX cluster behind nginx and a worker with the real activities. */
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import type { NotificationDeps } from '../../src/activities/notifications';
import type { TargetConfig } from '../../src/config/targets';
import { freePort } from '../../src/runtime/freePort';
import { createLocalSandboxes } from '../../src/sandbox';
import type { LocalSandbox } from '../../src/sandbox/localSandbox';
import { startWorker, uniqueId, type RunningWorker } from './temporal';
import { clusterDir } from './emqxSandbox';
import { TEST_STEERING_KEYS } from './steering';

export interface LocalStack {
  name: string;
  target: TargetConfig;
  sandbox: LocalSandbox;
  taskQueue: string;
  /** The EMQX API credentials the sandbox put where the target's config points. */
  secrets: NodeJS.ProcessEnv;
  /** The sandbox's state file. */
  stateFile: string;
  stop(): Promise<void>;
}

/**
 * A 3-node cluster at 5.7.0 named `<what>-<id>`, and a worker on its own task
 * queue; apiVia puts something in front of the EMQX API as the worker reaches it;
 * notifications: where the worker delivers them (default: nowhere).
 */
export async function startLocalStack(
  env: TestWorkflowEnvironment,
  what: string,
  o: { apiVia?: (url: string) => Promise<string>; notifications?: (target: TargetConfig) => NotificationDeps } = {},
): Promise<LocalStack> {
  const name = uniqueId(what);
  const ports = { mqtt: await freePort(), api: await freePort(), status: await freePort() };
  const target: TargetConfig = {
    name,
    kind: 'emqx',
    local: { cluster: name, version: '5.7.0', replicas: 3, ports },
    // The worker reaches the EMQX API as npm start's does: through nginx's upstream of every running node.
    emqx: { apiUrl: `http://127.0.0.1:${ports.api}`, apiKey: { env: 'KEY' }, apiSecret: { env: 'SECRET' } },
  };
  const secrets: NodeJS.ProcessEnv = {};
  const dataDir = clusterDir(what);
  const sandbox = createLocalSandboxes([target], dataDir, secrets).get(name)!;
  const stateFile = join(dataDir, 'sandbox', name, 'state.json');
  let worker: RunningWorker | undefined;
  const stop = async (): Promise<void> => {
    await worker?.stop();
    await sandbox.stop();
  };
  try {
    await sandbox.start();
    const taskQueue = uniqueId('local');
    const workerTarget = o.apiVia ? { ...target, emqx: { ...target.emqx!, apiUrl: await o.apiVia(target.emqx!.apiUrl) } } : target;
    const activities = createActivities([workerTarget], { sandboxes: new Map([[name, sandbox]]), env: secrets, pollMs: 200, temporal: env.client, steeringKeys: TEST_STEERING_KEYS, notifications: o.notifications?.(target) });
    worker = await startWorker(env, taskQueue, activities, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! } });
    return { name, target, sandbox, taskQueue, secrets, stateFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
