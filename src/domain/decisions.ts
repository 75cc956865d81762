/**
 * Whether a steering request (approve, rollback, abort) or a ready report is
 * acceptable in a given state. Update validators and signal handlers both ask
 * here, so the API's answer and the workflow's refusal always agree.
 */
import type { ApprovalRule } from './policy';
import { isTerminal } from './status';
import type { ReadyReport, UpgradeState } from './upgrade';

/**
 * Why a request is refused: conflict (409, the state does not allow it),
 * forbidden (403, the policy does not let this principal), unchanged (the
 * report repeats the latest: nothing to record), tooMany (429, the release
 * has sent its share of reports).
 */
export type Refusal = 'conflict' | 'forbidden' | 'unchanged' | 'tooMany';

export type Decision = { ok: true } | { ok: false; reason: string; refusal?: Refusal };

/** The ApplicationFailure type an update validator refuses with, per refusal: the API maps it back. */
export const REFUSAL_FAILURE: Record<Refusal, string> = {
  conflict: 'UpgradeConflict',
  forbidden: 'UpgradeForbidden',
  unchanged: 'UpgradeUnchanged',
  tooMany: 'UpgradeTooManyReports',
};

const yes: Decision = { ok: true };

/** Who approves: the principal and the roles the API knows it by (none from the Temporal CLI). */
export interface Approver {
  by: string;
  roles?: readonly string[];
}

export function decideApprove(state: UpgradeState, approver: Approver, rule: ApprovalRule): Decision {
  if (state.status !== 'AWAITING_APPROVAL') {
    return { ok: false, reason: `nothing is waiting for approval: the upgrade is ${state.status}${state.step ? ` at step ${state.step}` : ''}` };
  }
  const gate = state.approval.gate ? `the ${state.approval.gate} gate` : 'this gate';
  const { by, roles = [] } = approver;
  if (rule.requireDistinctApprover && by === state.requestedBy) {
    return { ok: false, refusal: 'forbidden', reason: `${by} requested this upgrade and cannot also approve it: ${gate} requires a distinct approver` };
  }
  if (rule.roles.length && !rule.roles.some((r) => roles.includes(r))) {
    return {
      ok: false,
      refusal: 'forbidden',
      reason: `approving at ${gate} needs the role ${rule.roles.join(' or ')}; ${by} has ${roles.length ? roles.join(', ') : 'no role the workflow knows of'}`,
    };
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

/** Reports of green recorded at most; after them only the one that turns it ready is. */
export const MAX_READY_REPORTS = 20;

/**
 * Only the green release of the running upgrade reports ready, and only while
 * it is INITIALISING; a repeat of the latest report records nothing, and a
 * release has MAX_READY_REPORTS recorded at most (then only the one that says
 * ready after a not-ready), so reports cannot grow the history without end.
 */
export function decideReadyReport(state: UpgradeState, report: { release: string; ready: boolean; detail?: string }): Decision {
  const d = readyReportPlace(state, report.release);
  if (!d.ok) return d;
  const latest: ReadyReport | undefined = state.readyReport;
  if (latest && latest.ready === report.ready && (latest.detail ?? '') === (report.detail ?? '')) {
    return { ok: false, refusal: 'unchanged', reason: `${report.release} already reported ${report.ready ? 'ready' : 'not ready'} with this detail at ${latest.at}` };
  }
  const turnsReady = report.ready && !latest?.ready;
  if ((latest?.reports ?? 0) >= MAX_READY_REPORTS && !turnsReady) {
    return { ok: false, refusal: 'tooMany', reason: `${report.release} has sent ${MAX_READY_REPORTS} reports, the most recorded for a release; only one that says ready is still taken` };
  }
  return yes;
}

function readyReportPlace(state: UpgradeState, release: string): Decision {
  if (isTerminal(state.status)) return { ok: false, reason: `the upgrade has already ended: ${state.status}` };
  const { blue, green } = state.releases;
  if (!green || release !== green.name) {
    const roles = blue?.name === release ? ` (${release} is blue, the release being replaced)` : '';
    return { ok: false, reason: `only the green release${green ? ` ${green.name}` : ''} of the running upgrade reports ready${roles}` };
  }
  if (green.phase !== 'INITIALISING') return { ok: false, reason: `${release} is ${green.phase}: ready reports are taken only while it is INITIALISING` };
  return yes;
}
