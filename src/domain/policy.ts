/**
 * A target's policy as an upgrade records it at its start (src/config/policy.ts
 * reads it from the config file): what a request may change, and who may
 * approve at each gate. The workflow reads only the approval rules, from its
 * own input, so a later change of the config file never rewrites a running
 * upgrade.
 */
import { STEPS, type Step } from './steps';

/**
 * Where a person approves: before traffic moves (the gate before promote, an
 * inconclusive analysis at verify), during the traffic plan (a step's approve,
 * an inconclusive analysis there), and after it (the gate before finalize and
 * anything later).
 */
export const APPROVAL_GATES = ['promote', 'trafficStep', 'finalize'] as const;
export type ApprovalGate = (typeof APPROVAL_GATES)[number];

export interface ApprovalRule {
  /** The approver needs one of these roles; empty: any principal the API lets approve (runs started before policies). */
  roles: string[];
  /** Four-eyes: the principal who started the upgrade may not approve here, and the gate never approves by itself. */
  requireDistinctApprover: boolean;
}

/** allow: any value within the bounds; tighten: only a value at least as strict as the configuration's; deny: not at all. */
export type OptionMode = 'allow' | 'tighten' | 'deny';

export interface UpgradePolicy {
  /** What a request's options may do, per option (options.<name>). */
  options: Record<string, OptionMode>;
  /** The standby window a request may ask for. */
  standbyWindow: { min: string; max: string };
  /** No duration of a request may be longer. */
  maxDuration: string;
  /** Image repositories a request's image may name (patterns); none: green takes blue's repository. */
  images: string[];
  /** Hosts (patterns, addresses, CIDR blocks) that http analysis checks may reach. */
  httpHosts: string[];
  approvals: Record<ApprovalGate, ApprovalRule>;
}

/** The approval rule of the gate an approval is asked at, by the step that asks. */
export function approvalGateAt(step: Step): ApprovalGate {
  const at = STEPS.indexOf(step);
  const promote = STEPS.indexOf('promote');
  return at < promote ? 'promote' : at === promote ? 'trafficStep' : 'finalize';
}

/** The rule at a gate; a run started before policies keeps its one option, requireDistinctApprover, for every gate. */
export function approvalRule(input: { policy?: UpgradePolicy; options: { requireDistinctApprover: boolean } }, gate: ApprovalGate | undefined): ApprovalRule {
  if (!input.policy || !gate) return { roles: [], requireDistinctApprover: input.options.requireDistinctApprover };
  return input.policy.approvals[gate];
}
