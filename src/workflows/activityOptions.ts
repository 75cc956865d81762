/** Activity proxies with the upgrade's retry policy, and calls that carry a human summary for the UI. */
import { ActivityCancellationType, patched, proxyActivities, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { attemptsWithin, BACKOFF, RETRY_WINDOW_MS } from '../domain/retry';
import type { Step, UpgradeInput } from '../domain/upgrade';

/** A long wait's: it heartbeats, so a rollback cancels it at once and a dead worker is noticed in seconds. */
export const WAIT: ProxyOptions = { startToCloseTimeout: '24 hours', heartbeatTimeout: '30 seconds' };

/** Error types an activity raises when retrying cannot help (bad credentials, missing workload). */
export const NON_RETRYABLE = ['Misconfigured', 'NotFound', 'Unauthorized', 'Invalid'];

export interface ProxyOptions {
  startToCloseTimeout?: Duration;
  /** For long waits that heartbeat; also lets rollback cancel them at once. */
  heartbeatTimeout?: Duration;
}

/**
 * Runs started before retries were bounded by time replay with their attempt
 * count (options.maxAttempts, 3 by default, whatever the step's time limit).
 */
const RETRY_BY_TIME = 'retry-by-time';

/** The step whose calls these are, and when its time limit runs out (absent: the step has none). */
export interface StepWindow {
  step: Step;
  deadline?: number;
}

/**
 * A call in a step with a time limit stops retrying this long before the
 * limit, so the step fails with what the call last failed with rather than
 * with the time limit alone.
 */
const LAST_FAILURE_MARGIN_MS = 1000;

/** Whether this run's step calls retry by time (false: by options.maxAttempts, as it ran before). */
export const retriesByTime = (): boolean => patched(RETRY_BY_TIME);

/**
 * Proxies for a step's activities. A transient failure is retried with
 * backoff (BACKOFF) for as long as the step may run: a call until shortly
 * before the step's time limit, or without one for the step's retry window
 * (RETRY_WINDOW_MS), as many attempts as that backoff allows; a wait (an
 * activity that heartbeats, riding through failed reads while it waits)
 * until the step's time limit cancels it, or without one for as many
 * attempts as the window allows. Non-retryable failures end at once.
 * Temporal retries on the server: a retrying call adds no history event
 * until it ends.
 */
export function stepActivities<A extends object>(input: UpgradeInput, at: StepWindow, options: ProxyOptions = {}): ActivityInterfaceFor<A> {
  const wait = options.heartbeatTimeout !== undefined;
  let maximumAttempts: number | undefined = input.options.maxAttempts;
  if (retriesByTime()) {
    if (at.deadline === undefined) maximumAttempts = attemptsWithin(RETRY_WINDOW_MS[at.step]);
    else maximumAttempts = wait ? undefined : attemptsWithin(at.deadline - Date.now() - LAST_FAILURE_MARGIN_MS);
  }
  return proxyActivities<A>({
    startToCloseTimeout: options.startToCloseTimeout ?? '2 minutes',
    heartbeatTimeout: options.heartbeatTimeout,
    // Compensations must not run while a cancelled step is still applying its effect.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts,
      initialInterval: BACKOFF.initialMs,
      backoffCoefficient: BACKOFF.coefficient,
      maximumInterval: BACKOFF.maximumMs,
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
export function callActivity<F extends AnyActivity>(fn: F, summary: string, ...args: Parameters<F>): ReturnType<F> {
  return (fn as unknown as WithOptions<F>).executeWithOptions({ summary }, args);
}
