/**
 * What a kind (emqx, kong, projection) plugs into the skeleton. The skeleton
 * owns the workload's life (workloadLife.ts: read blue, create green with its
 * undo, wait for it, remove blue); a strategy adds its kind's steps and what
 * its kind does around that life. (Such a hook calls the skeleton's part
 * itself, at once when its runbook starts with it: a command issued after a
 * needless await would come after the state memo's, and a history recorded
 * before would no longer replay.) What a strategy learns is its facts F:
 * plan returns them, a step returns what it learned (or, for what the undo of
 * a half-done step needs, tells it at once with learn), and the skeleton
 * passes them on. Strategies are workflow code: they call activities and
 * timers, never I/O directly.
 */
import type { ActivityInterfaceFor } from '@temporalio/workflow';
import type { Kind, KindPlanned } from '../domain/kindRegistry';
import type { BlueWorkload } from '../domain/platform';
import type { ReleaseRef, UpgradeInput } from '../domain/upgrade';
import type { ProxyOptions } from './activityOptions';

/** Activity proxies with the retry policy of what runs now: a step's, or an undo's (retried until the rollback's deadline). */
export interface Calls {
  /** Activities that answer at once. */
  activities<A extends object>(): ActivityInterfaceFor<A>;
  /** Long waits: they heartbeat, so a rollback cancels them at once and a dead worker is noticed in seconds (WAIT unless options say). */
  longWaits<A extends object>(options?: ProxyOptions): ActivityInterfaceFor<A>;
}

/** What plan is given: the request, and blue as the skeleton read it. */
export interface PlanContext<K extends Kind = Kind> extends Calls {
  readonly input: UpgradeInput<K>;
  readonly blue: BlueWorkload;
}

/** K: the kind the strategy is for, whose settings its input carries (input.settings[K]), complete; F: what it learns. */
export interface StrategyContext<K extends Kind = Kind, F extends object = object> extends Calls {
  readonly input: UpgradeInput<K>;
  readonly blue: ReleaseRef;
  readonly green: ReleaseRef;
  /**
   * The upgrade's id, to pass as `owner` to the activities that create or
   * change the target's objects (src/domain/ownership.ts, OwnedCall); absent in
   * runs started before ownership marks.
   */
  readonly owner?: string;
  /** What the strategy learned so far: plan's facts, with each step's since. */
  readonly facts: F;
  /** Keep what a step learned at once, before it ends: the undo of a half-done step reads it. */
  learn(facts: Partial<F>): void;
  /** Publish strategy-specific progress into the state query (e.g. node evacuations). */
  report(key: string, value: unknown): void;
  /** Say in one line what the step is waiting for (UI current details and the state query). */
  waitingFor(text: string): void;
  /** Wait for a person (AWAITING_APPROVAL, `why` in the state): approve continues (returns who), rollback rolls back. */
  askApproval(before: string, why: string): Promise<string>;
}

/** green's workload as a kind wants it: replicas (blue's by default), environment of its application container. */
export interface GreenWorkload {
  replicas?: number;
  env?: Record<string, string>;
}

/** The workload's life (its implementation through the platform port: workloadLife.ts). */
export interface WorkloadLife {
  readBlue(ctx: Calls & { input: UpgradeInput }, env?: string[]): Promise<BlueWorkload>;
  createGreen(ctx: StrategyContext, green: GreenWorkload & { replicas: number }): Promise<void>;
  removeGreen(ctx: StrategyContext): Promise<void>;
  waitGreen(ctx: StrategyContext): Promise<void>;
  removeBlue(ctx: StrategyContext): Promise<void>;
}

/** Partial<F>: what the step learned, passed on to the steps after it. */
type Learned<F> = Promise<Partial<F> | void>;

export interface StepHandler<K extends Kind = Kind, F extends object = object> {
  run(ctx: StrategyContext<K, F>): Learned<F>;
  /** Compensation: registered before run, so a half-done step is undone too; must be idempotent. */
  undo?(ctx: StrategyContext<K, F>): Promise<void>;
}

export interface Strategy<K extends Kind = Kind, F extends object = object> {
  /** Variables of blue's application container that plan reads (literal values, never secrets). */
  readonly blueEnv?: string[];
  /** The workload's life, where the kind's is not the platform's (the tests' scripted world). */
  readonly workload?: WorkloadLife;
  /** What the kind checks and learns of blue before anything changes; calls are plan's (retried within its limit or window). */
  plan(ctx: PlanContext<K>): Promise<F>;
  /** What plan's facts mean for the kind's steps, as a preview describes them (POST /v1/upgrades?dryRun=true). */
  planned?(facts: F): KindPlanned<K>;
  prepare?: StepHandler<K, F>;
  /**
   * deployGreen: the kind's part around the skeleton's `create` of green's
   * workload (its replicas, blue's by default; its environment). The hooks
   * that follow are given the skeleton's part of their step the same way and
   * call it where the kind's runbook has it.
   */
  deployGreen?(ctx: StrategyContext<K, F>, create: (green?: GreenWorkload) => Promise<void>): Learned<F>;
  /** deployGreen's undo: what a rollback does around the skeleton's `remove` of green (move its clients back first; forget its nodes). */
  removeGreen?(ctx: StrategyContext<K, F>, remove: () => Promise<void>): Promise<void>;
  /** waitReady: what green must reach beyond `workloadReady`, which the kind leaves out where a call of its own waits for its pods too. */
  waitReady?(ctx: StrategyContext<K, F>, workloadReady: () => Promise<void>): Learned<F>;
  verify?: StepHandler<K, F>;
  /** Runs after the skeleton has moved all traffic to green (e.g. point clients at it); traffic itself is the skeleton's. */
  promote?: StepHandler<K, F>;
  drainBlue?: StepHandler<K, F>;
  finalize?: StepHandler<K, F>;
  /** cleanUpBlue: what the kind does around the skeleton's `remove` of blue's workload (drain it first; drop its database after). */
  cleanUpBlue?(ctx: StrategyContext<K, F>, remove: () => Promise<void>): Learned<F>;
}
