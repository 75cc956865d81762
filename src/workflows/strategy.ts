/**
 * What a kind (emqx, kong, projection) plugs into the skeleton. Strategies
 * are workflow code: they call activities and timers, never I/O directly.
 */
import type { ActivityInterfaceFor } from '@temporalio/workflow';
import type { ReleaseRef, UpgradeInput } from '../domain/upgrade';
import type { ProxyOptions } from './activityOptions';

export interface StrategyContext {
  readonly input: UpgradeInput;
  readonly blue: ReleaseRef;
  readonly green: ReleaseRef;
  /**
   * The upgrade's id, to pass as `owner` to the activities that create or
   * change the target's objects (src/domain/ownership.ts, OwnedCall); absent in
   * runs started before ownership marks.
   */
  readonly owner?: string;
  /** Publish strategy-specific progress into the state query (e.g. node evacuations). */
  report(key: string, value: unknown): void;
  /** Say in one line what the step is waiting for (UI current details and the state query). */
  waitingFor(text: string): void;
  /** Wait for a person (AWAITING_APPROVAL, `why` in the state): approve continues (returns who), rollback rolls back. */
  askApproval(before: string, why: string): Promise<string>;
  /**
   * Activity proxies with the retry policy of what runs now: a step's
   * (transient failures retried until its time limit or retry window), or
   * an undo's (retried until the rollback's deadline).
   */
  activities: Activities;
}

export type Activities = <A extends object>(options?: ProxyOptions) => ActivityInterfaceFor<A>;

export interface StepHandler {
  run(ctx: StrategyContext): Promise<void>;
  /** Compensation: registered before run, so a half-done step is undone too; must be idempotent. */
  undo?(ctx: StrategyContext): Promise<void>;
}

export interface Strategy {
  /** Read which release serves the target now; `activities` are plan's (retried within its limit or window). */
  plan(input: UpgradeInput, activities: Activities): Promise<{ blue: ReleaseRef }>;
  prepare?: StepHandler;
  deployGreen: StepHandler;
  waitReady: StepHandler;
  verify?: StepHandler;
  /** Runs after the skeleton has moved all traffic to green (e.g. point clients at it); traffic itself is the skeleton's. */
  promote?: StepHandler;
  drainBlue?: StepHandler;
  finalize?: StepHandler;
  cleanUpBlue: StepHandler;
}
