/** The Temporal worker: the workflow bundle plus the activities, on one task queue, and the workflows' metrics sinks. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { createActivities, type ActivityDeps } from '../activities';
import type { Config } from '../config/file';
import { sinksFor } from '../config/notifications';
import { policyFor } from '../config/policy';
import { targetLookup } from '../config/targets';
import { createAnalysisMetrics } from './analysisMetrics';
import { workerDefaults } from './workerDefaults';

export interface WorkerMetrics {
  /** Where the workflows' and the analysis runs' metrics go (the API's /metrics registry in npm start); omitted: a registry of its own. */
  registry?: Registry;
}

export async function createWorker(connection: NativeConnection, config: Config, deps: Omit<ActivityDeps, 'steeringKeys'>, metrics: WorkerMetrics = {}): Promise<Worker> {
  const registry = metrics.registry ?? new Registry();
  const target = targetLookup(config.targets);
  // Checked again before each request, against the configuration the worker runs with now.
  const httpHosts = (name: string) => policyFor(config, target(name)).httpHosts;
  const notifications = {
    sinksFor: (name: string) => sinksFor(config, name),
    env: deps.env ?? process.env,
    consoleUrl: config.notifications?.consoleUrl,
    temporalUiUrl: config.env.temporal.uiUrl,
    namespace: config.env.temporal.namespace,
  };
  return Worker.create({
    connection,
    namespace: config.env.temporal.namespace,
    taskQueue: config.env.temporal.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities(config.targets, { ...deps, httpHosts, notifications, steeringKeys: config.steering, onMeasurement: createAnalysisMetrics(registry) }),
    ...workerDefaults(registry),
  });
}
