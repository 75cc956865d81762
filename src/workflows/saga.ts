/**
 * The rollback saga: each step registers its compensation before it changes
 * anything, and a rollback runs them in reverse, each undo retrying (see
 * undoActivities) until the rollback's deadline says a person must look.
 */
import { isCancellation } from '@temporalio/workflow';
import type { CompensationRecord, Step } from '../domain/upgrade';
import { rootCause } from './failures';
import type { UpgradeStateKeeper } from './upgradeStateKeeper';

/** Runs one undo; deadline (epoch ms) bounds its retries. */
export type Undo = (deadline: number) => Promise<void>;

export class Saga {
  private readonly undos: { record: CompensationRecord; undo: Undo }[] = [];

  constructor(private readonly upgrade: UpgradeStateKeeper) {}

  register(step: Step, what: string | undefined, undo: Undo): void {
    const record: CompensationRecord = what ? { step, what, state: 'registered' } : { step, state: 'registered' };
    this.undos.push({ record, undo });
    this.upgrade.state.compensations.push(record);
  }

  has(what: string): boolean {
    return this.undos.some((u) => u.record.what === what);
  }

  /**
   * Undo everything registered, newest first. Returns the message that asks a
   * person to look when an undo failed for good (non-retryable, or still
   * failing at the deadline); the undos after it are left alone.
   */
  async compensate(): Promise<string | undefined> {
    const { state, input } = this.upgrade;
    const deadline = Date.now() + input.options.rollbackTimeoutMs;
    for (const { record, undo } of [...this.undos].reverse()) {
      const since = new Date().toISOString();
      record.state = 'running';
      state.undoing = { step: record.step, since };
      this.upgrade.setWaitingFor(`rolling back: undoing ${record.what ?? record.step}`);
      try {
        await undo(deadline);
      } catch (err) {
        // The rollback runs in a non-cancellable scope; a cancellation here is a bug, not a stop.
        if (isCancellation(err)) throw err;
        record.state = 'failed';
        return `manual attention: undoing ${record.step}${record.what ? ` (${record.what})` : ''} failed since ${since}: ${rootCause(err).message}`;
      } finally {
        state.undoing = undefined;
      }
      record.state = 'done';
    }
    return undefined;
  }
}
