import type { WorkerOptions } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { createWorkflowMetricsSinks } from './workflowMetrics';

/** What every worker runs with, the tests' and the benches' too. */
export function workerDefaults(registry: Registry = new Registry()): Pick<WorkerOptions, 'sinks' | 'maxHeartbeatThrottleInterval'> {
  return {
    sinks: createWorkflowMetricsSinks(registry),
    // A cancellation (an abort's, a rollback's) reaches a running activity only in the answer to a heartbeat,
    // and by default the SDK sends those at most every 0.8 x heartbeatTimeout: 24 s for a 30 s wait.
    maxHeartbeatThrottleInterval: '1 second',
  };
}
