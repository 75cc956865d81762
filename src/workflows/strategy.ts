/**
 * What a kind (emqx, kong, projection) plugs into the skeleton. Strategies
 * are workflow code: they call activities and timers, never I/O directly.
 */
import type { ActivityInterfaceFor } from '@temporalio/workflow';
import type { Kind, KindPlanned } from '../domain/kindRegistry';
import type { BlueFound } from '../domain/kindPreview';
import type { ReleaseRef, UpgradeInput } from '../domain/upgrade';
import type { ProxyOptions } from './activityOptions';

/** K: the kind the strategy is for, whose settings its input carries (input.settings[K]), complete. */
export interface StrategyContext<K extends Kind = Kind> {
  readonly input: UpgradeInput<K>;
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

export interface StepHandler<K extends Kind = Kind> {
  run(ctx: StrategyContext<K>): Promise<void>;
  /** Compensation: registered before run, so a half-done step is undone too; must be idempotent. */
  undo?(ctx: StrategyContext<K>): Promise<void>;
}

export interface Strategy<K extends Kind = Kind> {
  /** Read which release serves the target now; `activities` are plan's (retried within its limit or window). */
  plan(input: UpgradeInput<K>, activities: Activities): Promise<{ blue: BlueFound }>;
  /** What plan decided from the target (a preview describes the steps by it); after plan only. */
  planned?(): KindPlanned<K>;
  prepare?: StepHandler<K>;
  deployGreen: StepHandler<K>;
  waitReady: StepHandler<K>;
  verify?: StepHandler<K>;
  /** Runs after the skeleton has moved all traffic to green (e.g. point clients at it); traffic itself is the skeleton's. */
  promote?: StepHandler<K>;
  drainBlue?: StepHandler<K>;
  finalize?: StepHandler<K>;
  cleanUpBlue: StepHandler<K>;
}
