/** The Temporal worker: the workflow bundle plus the activities, on one task queue. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { Config } from '../config/file';

export async function createWorker(connection: NativeConnection, config: Config, deps: ActivityDeps = {}): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.env.temporal.namespace,
    taskQueue: config.env.temporal.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities(config.targets, deps),
  });
}
