/**
 * What a kind (emqx, kong, projection) plugs into the skeleton. Strategies
 * are workflow code: they call activities and timers, never I/O directly.
 */
import type { ReleaseRef, UpgradeInput } from '../domain/upgrade';

export interface StrategyContext {
  readonly input: UpgradeInput;
  readonly blue: ReleaseRef;
  readonly green: ReleaseRef;
  /** Publish strategy-specific progress into the state query (e.g. node evacuations). */
  report(key: string, value: unknown): void;
  /** Say in one line what the step is waiting for (UI current details and the state query). */
  waitingFor(text: string): void;
  /** Router weights while traffic moves in steps. */
  setTraffic(weights: { blue: number; green: number }): void;
}

export interface StepHandler {
  run(ctx: StrategyContext): Promise<void>;
  /** Compensation: registered before run, so a half-done step is undone too; must be idempotent. */
  undo?(ctx: StrategyContext): Promise<void>;
}

export interface Strategy {
  /** Read which release serves the target now. */
  plan(input: UpgradeInput): Promise<{ blue: ReleaseRef }>;
  prepare?: StepHandler;
  deployGreen: StepHandler;
  waitReady: StepHandler;
  verify?: StepHandler;
  promote: StepHandler;
  drainBlue?: StepHandler;
  finalize?: StepHandler;
  cleanUpBlue: StepHandler;
}
