/** Activity proxies with the upgrade's retry policy, and calls that carry a human summary for the UI. */
import { ActivityCancellationType, proxyActivities, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { UpgradeInput } from '../domain/upgrade';

/** Error types an activity raises when retrying cannot help (bad credentials, missing workload). */
export const NON_RETRYABLE = ['Misconfigured', 'NotFound', 'Unauthorized', 'Invalid'];

export interface ProxyOptions {
  startToCloseTimeout?: Duration;
  /** For long waits that heartbeat; also lets rollback cancel them at once. */
  heartbeatTimeout?: Duration;
}

export function stepActivities<A extends object>(input: UpgradeInput, options: ProxyOptions = {}): ActivityInterfaceFor<A> {
  return proxyActivities<A>({
    startToCloseTimeout: options.startToCloseTimeout ?? '2 minutes',
    heartbeatTimeout: options.heartbeatTimeout,
    // Compensations must not run while a cancelled step is still applying its effect.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: input.options.maxAttempts,
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
}

/**
 * Proxies for compensations: an outage must not leave a rollback half-done,
 * so an undo activity retries without an attempt limit (backoff capped at a
 * minute) until the rollback's deadline; non-retryable errors stop at once.
 */
export function undoActivities<A extends object>(deadline: number, options: ProxyOptions = {}): ActivityInterfaceFor<A> {
  return proxyActivities<A>({
    startToCloseTimeout: options.startToCloseTimeout ?? '2 minutes',
    scheduleToCloseTimeout: Math.max(1000, deadline - Date.now()),
    heartbeatTimeout: options.heartbeatTimeout,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // no maximumAttempts: unlimited
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 1.5,
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
}

type AnyActivity = (...args: never[]) => Promise<unknown>;
interface WithOptions<F extends AnyActivity> {
  executeWithOptions(options: { summary?: string }, args: Parameters<F>): ReturnType<F>;
}

/** Call an activity with a one-line summary that the Temporal UI shows beside it. */
export function call<F extends AnyActivity>(fn: F, summary: string, ...args: Parameters<F>): ReturnType<F> {
  return (fn as unknown as WithOptions<F>).executeWithOptions({ summary }, args);
}
