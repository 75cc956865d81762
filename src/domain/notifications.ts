/**
 * Notifications: the events an upgrade tells people about, which of them a
 * status change or step means, and what the workflow hands the delivery
 * activity (a summary of the upgrade, never a URL or a key: the worker
 * resolves the sink by name when it delivers).
 */
import type { UpgradeStatus } from './status';
import type { Kind } from './kindRegistry';
import type { Step } from './steps';

export const NOTIFICATION_EVENTS = ['started', 'awaiting-approval', 'analysis-failed', 'rolled-back', 'failed', 'succeeded', 'point-of-no-return-passed'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** What each event means, for the README's table and the config's errors. */
export const EVENT_MEANING: Record<NotificationEvent, string> = {
  started: 'the upgrade was started',
  'awaiting-approval': 'the upgrade waits at a gate for a person (approve or roll back)',
  'analysis-failed': 'an analysis check failed, erred or was inconclusive where that fails it: the upgrade rolls back',
  'rolled-back': 'the upgrade was undone: blue serves again',
  failed: 'the upgrade ended FAILED: a person must look (after the point of no return, or a rollback that could not finish)',
  succeeded: 'green serves and the upgrade ended',
  'point-of-no-return-passed': 'finalize began: rollback is refused from now on',
};

/** Delivery's own limits: an attempt may take 10 s, and the attempts 5 minutes in all (the longest a run waits for them at its end). */
export const DELIVERY = { attemptMs: 10_000, totalMs: 5 * 60_000 };

/** The sinks that want events of this upgrade, by name, as the API found them in the configuration at the start. */
export interface NotificationSubscription {
  sink: string;
  events: NotificationEvent[];
}

/** The event a status change is, if any (RUNNING again after a gate and ROLLING_BACK are not events). */
export const STATUS_EVENT: Partial<Record<UpgradeStatus, NotificationEvent>> = {
  AWAITING_APPROVAL: 'awaiting-approval',
  ROLLED_BACK: 'rolled-back',
  FAILED: 'failed',
  SUCCEEDED: 'succeeded',
};

/** Failures that an analysis decided (StepFailed's types in src/workflows/trafficPlan.ts). */
export const ANALYSIS_FAILURES = ['AnalysisFailed', 'AnalysisError', 'AnalysisInconclusive'];

/** What a gate shows a person beside its buttons (src/view's evidence sections, as data). */
export interface EvidenceSection {
  title: string;
  rows?: { label: string; value: string }[];
  table?: { columns: string[]; rows: string[][] };
}

/** The upgrade at the instant of the event: what the activity builds the payload from. */
export interface NotificationSummary {
  event: NotificationEvent;
  /** The event's place among this upgrade's notifications (1, 2, ...): deliveries run side by side and may arrive out of order. */
  sequence: number;
  /** When it happened (workflow time). */
  at: string;
  upgradeId: string;
  kind: Kind;
  target: string;
  /** Blue's version, once plan has read it. */
  fromVersion?: string;
  toVersion: string;
  status: UpgradeStatus;
  step: Step | null;
  /** Who caused the event, and why. */
  by: string;
  reason: string;
  requestedBy: string;
  waitingFor: string;
  traffic: { blue: number; green: number };
  pointOfNoReturnPassed: boolean;
  failure?: { step: string; message: string; type?: string };
  /** At a gate: the rule whose approvers may approve, and the evidence the console shows beside it. */
  gate?: { approvalGate?: string; autoPromoteAt?: string; evidence: EvidenceSection[] };
}

/** What one delivery activity gets: the sink's name and the event. */
export interface NotificationRequest {
  sink: string;
  summary: NotificationSummary;
}
