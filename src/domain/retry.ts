/**
 * What cutover retries, and for how long: a transient failure of a target's
 * API (a 5xx, a reset, a timeout, a 409 from a concurrent write) is tried
 * again with backoff for as long as the step's time limit allows; an answer
 * that says the request itself is wrong (401/403, 400, 404 where the object
 * must exist) fails the step at once. Each kind's activities decide which is
 * which from what its system means by an answer.
 */
import type { Step } from './upgrade';

/**
 * HTTP statuses that say "not now" rather than "not this": 408 Request
 * Timeout, 429 Too Many Requests (RFC 6585: the client may repeat later) and
 * every 5xx (the server, or a proxy or load balancer in front of it, failed).
 */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** The backoff between a step's attempts: 1 s, doubling, at most 30 s (Temporal's server applies it without jitter). */
export const BACKOFF = { initialMs: 1000, coefficient: 2, maximumMs: 30_000 } as const;

/**
 * How many attempts a call gets so that its retries take at least `budgetMs`
 * of backoff: the first attempt, and one more after each wait that still
 * fits. Retries bounded by a count never abandon an attempt in flight (a
 * schedule-to-close timeout would, and an undo could then race it).
 */
export function attemptsWithin(budgetMs: number): number {
  let attempts = 1;
  for (let waited = 0, next: number = BACKOFF.initialMs; waited + next <= budgetMs; next = Math.min(next * BACKOFF.coefficient, BACKOFF.maximumMs)) {
    waited += next;
    attempts += 1;
  }
  return attempts;
}

const MINUTE = 60_000;

/**
 * How long a step's calls keep retrying a transient failure when the step has
 * no time limit of its own (options.stepTimeouts). Before the point of no
 * return a call that keeps failing rolls the upgrade back, so the window is
 * minutes; from finalize on a failure leaves the upgrade FAILED for a person,
 * so its calls keep trying longer. A step's long waits (a workload turning
 * ready, an evacuation, a catch-up) are bounded by their own time limit
 * instead, and ride through failed reads while they wait.
 */
export const RETRY_WINDOW_MS: Readonly<Record<Step, number>> = {
  plan: 5 * MINUTE,
  prepare: 15 * MINUTE,
  deployGreen: 15 * MINUTE,
  waitReady: 15 * MINUTE,
  verify: 10 * MINUTE,
  gate: 10 * MINUTE,
  promote: 10 * MINUTE,
  drainBlue: 15 * MINUTE,
  standBy: 10 * MINUTE,
  finalize: 30 * MINUTE,
  cleanUpBlue: 60 * MINUTE,
};
