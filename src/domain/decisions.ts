/**
 * Whether a steering request (approve, rollback, abort) is acceptable in a
 * given state. Update validators and signal handlers both ask here, so the
 * API's 409 and the workflow's refusal always agree.
 */
import { isTerminal } from './status';
import type { UpgradeState } from './upgrade';

export type Decision = { ok: true } | { ok: false; reason: string };

const yes: Decision = { ok: true };

export function decideApprove(state: UpgradeState, principal: string, requireDistinctApprover: boolean): Decision {
  if (state.status !== 'AWAITING_APPROVAL') {
    return { ok: false, reason: `nothing is waiting for approval: the upgrade is ${state.status}${state.step ? ` at step ${state.step}` : ''}` };
  }
  if (requireDistinctApprover && principal === state.requestedBy) {
    return { ok: false, reason: `${principal} requested this upgrade and cannot also approve it` };
  }
  return yes;
}

export function decideRollback(state: UpgradeState): Decision {
  if (isTerminal(state.status)) return { ok: false, reason: `the upgrade has already ended: ${state.status}` };
  if (state.status === 'ROLLING_BACK') return { ok: false, reason: 'the upgrade is already rolling back' };
  if (state.pointOfNoReturnPassed) {
    return { ok: false, reason: 'the upgrade has passed finalize, the point of no return: the old release can no longer serve' };
  }
  return yes;
}

/** Abort stops the upgrade: before finalize it rolls back; after it, it only stops the clean-up of blue. */
export function decideAbort(state: UpgradeState): Decision {
  if (isTerminal(state.status)) return { ok: false, reason: `the upgrade has already ended: ${state.status}` };
  if (state.status === 'ROLLING_BACK') return { ok: false, reason: 'the upgrade is already rolling back' };
  return yes;
}

/** Only the green release of the running upgrade reports ready, and only while it is INITIALISING. */
export function decideReadyReport(state: UpgradeState, release: string): Decision {
  if (isTerminal(state.status)) return { ok: false, reason: `the upgrade has already ended: ${state.status}` };
  const { blue, green } = state.releases;
  if (!green || release !== green.name) {
    const roles = blue?.name === release ? ` (${release} is blue, the release being replaced)` : '';
    return { ok: false, reason: `only the green release${green ? ` ${green.name}` : ''} of the running upgrade reports ready${roles}` };
  }
  if (green.phase !== 'INITIALISING') return { ok: false, reason: `${release} is ${green.phase}: ready reports are taken only while it is INITIALISING` };
  return yes;
}
