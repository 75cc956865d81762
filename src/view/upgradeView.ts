/**
 * An upgrade as GET /v1/upgrades/:id answers it, read by the CLI and the
 * console: the workflow's state with the run's execution status and links.
 */
import type { UpgradeState } from '../domain/upgrade';

export interface StuckView {
  since: string;
  attempts: number;
  message: string;
  cause?: string;
}

export type UpgradeView = UpgradeState & {
  /** Temporal's execution status (RUNNING, COMPLETED, TERMINATED, TIMED_OUT) or STUCK. */
  execution: string;
  stuck?: StuckView;
  links: { self: string; temporalUi?: string };
};

/** A run that ended without its own status saying so (terminated or timed out: nothing was undone). */
export const stoppedOutside = (u: Pick<UpgradeView, 'execution'>): boolean => u.execution === 'TERMINATED' || u.execution === 'TIMED_OUT';

/** An upgrade that will not change any more: it ended, or Temporal stopped it without its rollback. */
export const hasEnded = (u: Pick<UpgradeView, 'status' | 'execution'>): boolean =>
  ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'].includes(u.status) || stoppedOutside(u);
