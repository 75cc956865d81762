/**
 * Approval gates: the upgrade waits (AWAITING_APPROVAL) for the approve
 * signal or update, a rollback, its auto-promotion delay or its time limit.
 * Gates stand before promote and finalize (options.approveBefore), at a
 * traffic step with approve: true, and where an analysis was inconclusive.
 */
import { condition, patched } from '@temporalio/workflow';
import { formatDuration } from '../domain/duration';
import { approvalGateAt } from '../domain/policy';
import type { GateOptions, GatedStep, Step, UpgradeOptions } from '../domain/upgrade';
import { StepFailed, StopRequested } from './failures';
import type { UpgradeStateKeeper } from './upgradeStateKeeper';

export interface Gate extends GateOptions {
  /** The step the gate belongs to (a failure there is reported as that step's). */
  step: Step;
  /** What the approval is for, e.g. "promote" or "traffic step 2 (50%)". */
  before: string;
  /** Why the upgrade waits, for the status transition. */
  why: string;
}

/** Patch: a gate whose time limit comes before its auto-promotion rolls back at the limit. */
export const GATE_TIMEOUT_FIRST = 'gate-timeout-before-auto-promotion';

/** The gate the options ask for before a step, if they ask for one. */
export function gateOptions(options: UpgradeOptions, step: GatedStep): GateOptions | undefined {
  return options.approveBefore.includes(step) ? options.gates[step] : undefined;
}

/** Wait at a gate. Returns who approved; throws StopRequested on a stop and StepFailed when its time limit passes. */
export async function awaitApproval(upgrade: UpgradeStateKeeper, gate: Gate): Promise<string> {
  const { state } = upgrade;
  const { timeoutMs } = gate;
  // Whichever comes first. The API refuses a time limit that comes first; runs started before this kept
  // waiting for the auto-promotion and ignored the time limit, so they replay as they ran.
  const timeoutFirst = gate.autoPromoteAfterMs !== undefined && timeoutMs !== undefined && timeoutMs <= gate.autoPromoteAfterMs && patched(GATE_TIMEOUT_FIRST);
  const autoPromoteAfterMs = timeoutFirst ? undefined : gate.autoPromoteAfterMs;
  upgrade.approved = undefined;
  // whose approval counts here: the policy's rule for this gate (decideApprove)
  state.approval.gate = approvalGateAt(gate.step);
  const limit = autoPromoteAfterMs ?? timeoutMs;
  state.approval.autoPromoteAt = autoPromoteAfterMs !== undefined ? new Date(Date.now() + autoPromoteAfterMs).toISOString() : undefined;
  upgrade.setStatus('AWAITING_APPROVAL', 'cutover', gate.why);
  upgrade.setWaitingFor(
    autoPromoteAfterMs !== undefined
      ? `approval before ${gate.before}, or auto-promotion at ${state.approval.autoPromoteAt}`
      : `approval before ${gate.before} (${gate.why}): approve, or roll back${limit ? `, within ${formatDuration(limit)}` : ''}`,
  );
  try {
    return await decide(upgrade, gate, autoPromoteAfterMs, limit);
  } finally {
    state.approval.gate = undefined;
  }
}

/** The gate's outcome: who approved (a person, or the auto-promotion); a stop or the time limit throws. */
async function decide(upgrade: UpgradeStateKeeper, gate: Gate, autoPromoteAfterMs: number | undefined, limit: number | undefined): Promise<string> {
  const { state } = upgrade;
  const decided = () => !!upgrade.approved || !!upgrade.stop;
  const summary = `${autoPromoteAfterMs !== undefined ? 'auto-promotion delay' : 'approval time limit'} before ${gate.before}`;
  const inTime = limit === undefined ? (await condition(decided), true) : await condition(decided, limit, { summary });
  if (upgrade.stop) throw new StopRequested();
  let by: string;
  if (inTime) {
    by = upgrade.approved!.by;
  } else {
    if (autoPromoteAfterMs === undefined) {
      throw new StepFailed(gate.step, `no approval before ${gate.before} within ${formatDuration(limit!)}`, 'ApprovalTimeout');
    }
    by = 'auto-promotion';
    state.approval.approvedBy = by;
    state.approval.approvedAt = new Date().toISOString();
    upgrade.record({ what: 'signal', by: 'cutover', why: `auto-promoted after ${formatDuration(autoPromoteAfterMs)}` });
  }
  upgrade.approved = undefined;
  upgrade.setStatus('RUNNING', by, `approved before ${gate.before}`);
  return by;
}
