/**
 * The skeleton's steps as a person follows them: which are done, which runs,
 * where a person's approval was or is awaited (read from the transitions),
 * and where the point of no return is.
 */
import { POINT_OF_NO_RETURN, STEPS, type Step } from '../domain/upgrade';
import { panelOf } from './panels';
import type { StepProgress } from './panel';
import type { UpgradeView } from './upgradeView';

export interface Gate {
  /** Why the upgrade waits or waited. */
  why: string;
  waiting: boolean;
  approvedBy?: string;
}

export interface StepMark {
  step: Step;
  state: 'done' | 'current' | 'stopped' | 'pending';
  gates: Gate[];
  /** Rollback is refused from this step on. */
  pointOfNoReturn: boolean;
}

const STOPPING = ['ROLLING_BACK', 'ROLLED_BACK', 'FAILED'];

export function stepMarks(u: UpgradeView): StepMark[] {
  const at = u.step ? STEPS.indexOf(u.step) : -1;
  const gates = gatesByStep(u);
  return STEPS.map((step, i) => ({
    step,
    state: u.status === 'SUCCEEDED' || i < at ? 'done' : i > at ? 'pending' : STOPPING.includes(u.status) ? 'stopped' : 'current',
    gates: gates.get(step) ?? (step === 'gate' && u.approval.mode === 'manual' ? [{ why: 'approval before promote', waiting: false }] : []),
    pointOfNoReturn: step === POINT_OF_NO_RETURN,
  }));
}

/** Each wait for approval, at the step it happened in, with who let it go on. */
function gatesByStep(u: UpgradeView): Map<Step, Gate[]> {
  const found = new Map<Step, Gate[]>();
  let step: Step | undefined;
  let open: Gate | undefined;
  for (const t of u.transitions) {
    if (t.what === 'step' && t.to) step = t.to as Step;
    if (t.what !== 'status' || !step) continue;
    if (t.to === 'AWAITING_APPROVAL') {
      open = { why: t.why, waiting: true };
      found.set(step, [...(found.get(step) ?? []), open]);
    } else if (open && t.from === 'AWAITING_APPROVAL') {
      open.waiting = false;
      if (t.to === 'RUNNING') open.approvedBy = t.by;
      open = undefined;
    }
  }
  return found;
}

/** The current step's progress: the kind's measure where it has one, else the traffic plan's weight during promote. */
export function stepProgress(u: UpgradeView): StepProgress | undefined {
  const own = panelOf(u.kind).progress?.(u);
  if (own) return own;
  const plan = u.trafficSteps ?? [];
  if (u.step === 'promote' && plan.length) {
    const k = Math.max(1, plan.findIndex((s) => !s.endedAt) + 1 || plan.length);
    return { fraction: u.traffic.green / 100, label: `traffic step ${k} of ${plan.length}: green ${u.traffic.green}%` };
  }
  return undefined;
}

/** "step 8 of 11" */
export function stepNumber(u: UpgradeView): string {
  return u.step ? `step ${STEPS.indexOf(u.step) + 1} of ${STEPS.length}` : 'not started';
}
