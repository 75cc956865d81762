/** How the skeleton's steps end early: a step failed for good, or someone asked to stop. */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { Step } from '../domain/upgrade';

/** A step that failed for good; the upgrade rolls back with this as its cause. */
export class StepFailed extends Error {
  constructor(
    readonly step: Step,
    message: string,
    readonly type?: string,
  ) {
    super(message);
  }
}

/** Someone asked to stop (rollback / abort signal or update, or a Temporal cancellation). */
export class StopRequested extends Error {}

/**
 * The innermost failure's message and type: an activity failure wraps the
 * application failure that says what went wrong. retriedOut: the call was
 * still failing at its last attempt (the cause is that attempt's failure).
 */
export function rootCause(err: unknown): { message: string; type?: string; retriedOut: boolean } {
  let e: unknown = err;
  let retriedOut = false;
  while (e instanceof Error && e.cause instanceof Error) {
    retriedOut ||= e instanceof ActivityFailure && e.retryState === 'MAXIMUM_ATTEMPTS_REACHED';
    e = e.cause;
  }
  const type = e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined;
  return { message: e instanceof Error ? e.message : String(e), type, retriedOut };
}
