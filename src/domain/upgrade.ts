/** What an upgrade is asked to do and what it reports: shared by workflow, API and CLI. */
import type { AnalysisCheck, AnalysisResult } from './analysis';
import type { Kind } from './kinds';
import type { Phase } from './phases';
import type { UpgradeStatus } from './status';

export type { Kind };

/** The skeleton's steps, in order (DESIGN.md "One workflow, three strategies"). */
export const STEPS = [
  'plan',
  'prepare',
  'deployGreen',
  'waitReady',
  'verify',
  'gate',
  'promote',
  'drainBlue',
  'standBy',
  'finalize',
  'cleanUpBlue',
] as const;
export type Step = (typeof STEPS)[number];

/** Steps after which rollback is refused: finalize is the point of no return. */
export const IRREVERSIBLE_FROM: Step = 'finalize';

/** Skeleton steps a person's approval can stand before. */
export const GATED_STEPS = ['promote', 'finalize'] as const;
export type GatedStep = (typeof GATED_STEPS)[number];

export interface GateOptions {
  /** Approve by itself after this long (the gate still takes an earlier approve or rollback). */
  autoPromoteAfterMs?: number;
  /** Without approval within this long, the upgrade rolls back. */
  timeoutMs?: number;
}

/** One step of a traffic plan: green's weight, then a pause, analysis checks and an optional approval. */
export interface TrafficStep {
  weight: number;
  pauseMs?: number;
  analysis: AnalysisCheck[];
  approve?: boolean;
}

export interface UpgradeOptions {
  /** manual: wait for approve (optionally auto-promote after autoPromoteAfterMs); auto: no gate. */
  approval: 'manual' | 'auto';
  autoPromoteAfterMs?: number;
  standbyWindowMs: number;
  /** Per-step time limit; a step that overruns is rolled back. */
  stepTimeoutMs: Partial<Record<Step, number>>;
  /**
   * Attempts per activity before the step counts as failed for good: what runs
   * started before patch retry-by-time replay with. Later runs retry by time
   * (the step's limit or RETRY_WINDOW_MS) and ignore it.
   */
  maxAttempts: number;
  requireDistinctApprover: boolean;
  /** all-at-once: green gets 100 in one change; steps: weights rising to 100. Absent in runs started before traffic plans. */
  traffic?: 'all-at-once' | TrafficStep[];
  /** Checks verify runs after the strategy's own verify. */
  verifyAnalysis?: AnalysisCheck[];
  /** Steps that wait for approval; absent: derived from approval (manual = before promote). */
  approveBefore?: GatedStep[];
  gates?: Partial<Record<GatedStep, GateOptions>>;
  /** waitReady also waits for the green release to report ready through the API. */
  waitForReadyReport?: boolean;
  /** How long a rollback keeps retrying its undos before a person must look (default 1 h). */
  rollbackTimeoutMs?: number;
  /** Each kind's own settings, under its name, in the workflow's units (see the kind's module). */
  settings: Record<string, unknown>;
}

export interface UpgradeInput {
  kind: Kind;
  target: string;
  version: string;
  image?: string;
  requestedBy: string;
  reason?: string;
  options: UpgradeOptions;
}

export interface ReleaseRef {
  name: string;
  version: string;
}

export interface ReleaseState extends ReleaseRef {
  role: 'blue' | 'green';
  phase: Phase;
  since: string;
}

export interface TransitionRecord {
  at: string;
  what: 'phase' | 'status' | 'step' | 'signal';
  release?: string;
  from?: string;
  to?: string;
  by: string;
  why: string;
}

export interface CompensationRecord {
  step: Step;
  /** What the undo puts back, e.g. "traffic on blue". */
  what?: string;
  state: 'registered' | 'running' | 'done' | 'failed';
}

/** An undo that is running: the API adds attempt and lastError from the pending activity while it retries. */
export interface UndoProgress {
  step: Step;
  since: string;
  activity?: string;
  attempt?: number;
  lastError?: string;
}

/** One traffic step as it ran. */
export interface TrafficStepState {
  weight: number;
  startedAt?: string;
  endedAt?: string;
  /** How it ended: completed, failed (its change, analysis or time limit), or stopped by a rollback or abort. */
  outcome?: 'completed' | 'failed' | 'stopped';
  analysis: AnalysisResult[];
  approvedBy?: string;
}

/** A ready report of the green release (POST .../releases/:release/ready). */
export interface ReadyReport {
  ready: boolean;
  detail?: string;
  by: string;
  at: string;
}

export interface UpgradeFailure {
  step: Step | 'rollback';
  message: string;
  type?: string;
}

export interface UpgradeState {
  upgradeId: string;
  kind: Kind;
  target: string;
  version: string;
  requestedBy: string;
  startedAt: string;
  status: UpgradeStatus;
  step: Step | null;
  /** One line: what the upgrade is doing or waiting for now. */
  waitingFor: string;
  releases: { blue: ReleaseState | null; green: ReleaseState | null };
  /** Router weights during a weighted shift; otherwise the serving release has 100. */
  traffic: { blue: number; green: number };
  approval: { mode: 'manual' | 'auto'; autoPromoteAt?: string; approvedBy?: string; approvedAt?: string };
  /** The traffic plan's steps with their start, end and analysis results. */
  trafficSteps?: TrafficStepState[];
  /** Analysis results of verify. */
  analysis?: AnalysisResult[];
  /** The green release's latest ready report. */
  readyReport?: ReadyReport;
  /** The undo that runs now during a rollback. */
  undoing?: UndoProgress;
  pointOfNoReturnPassed: boolean;
  compensations: CompensationRecord[];
  failure?: UpgradeFailure;
  transitions: TransitionRecord[];
  /** Strategy-specific progress, e.g. EMQX node evacuations. */
  details: Record<string, unknown>;
  endedAt?: string;
}

/**
 * One upgrade runs per target at a time: the workflow id is the target's, so
 * Temporal itself refuses a second start; each run's id adds its run id.
 */
export const upgradeWorkflowId = (target: string): string => `upgrade-${target}`;
export const upgradeIdOf = (target: string, runId: string): string => `${target}.${runId}`;
export function parseUpgradeId(id: string): { target: string; runId: string } | undefined {
  const m = /^([a-z0-9][-a-z0-9]*)\.([0-9a-f-]{36})$/.exec(id);
  return m ? { target: m[1], runId: m[2] } : undefined;
}

/** The release name a version gets: a DNS label, so it can be a Kubernetes label value. */
export function releaseName(target: string, version: string): string {
  const slug = version.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `${target}-${slug}`.slice(0, 63).replace(/-+$/, '');
}
