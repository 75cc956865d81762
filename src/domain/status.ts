/** The upgrade's status as a whole, and which moves between statuses are legal. */
import { IllegalTransitionError } from './phases';

export const STATUSES = ['RUNNING', 'AWAITING_APPROVAL', 'ROLLING_BACK', 'SUCCEEDED', 'ROLLED_BACK', 'FAILED'] as const;
export type UpgradeStatus = (typeof STATUSES)[number];

export const TERMINAL_STATUSES: readonly UpgradeStatus[] = ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'];

const NEXT: Record<UpgradeStatus, readonly UpgradeStatus[]> = {
  RUNNING: ['AWAITING_APPROVAL', 'ROLLING_BACK', 'SUCCEEDED', 'FAILED'],
  AWAITING_APPROVAL: ['RUNNING', 'ROLLING_BACK', 'FAILED'],
  ROLLING_BACK: ['ROLLED_BACK', 'FAILED'],
  SUCCEEDED: [],
  ROLLED_BACK: [],
  FAILED: [],
};

export function nextStatus(from: UpgradeStatus, to: UpgradeStatus): UpgradeStatus {
  if (!NEXT[from].includes(to)) throw new IllegalTransitionError('status', from, to);
  return to;
}

export function isTerminal(status: UpgradeStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
