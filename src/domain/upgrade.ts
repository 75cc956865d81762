/** What an upgrade is asked to do and what it reports: shared by workflow, API and CLI. */
import type { AnalysisCheck, AnalysisResult } from './analysis';
import type { Kind, KindSettings } from './kindRegistry';
import type { NotificationSubscription } from './notifications';
import type { Phase } from './phases';
import type { ApprovalGate, UpgradePolicy } from './policy';
import type { UpgradeStatus } from './status';
import type { GatedStep, Step } from './steps';

export type { Kind };

export { GATED_STEPS, POINT_OF_NO_RETURN, STEPS, type GatedStep, type Step } from './steps';

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

/**
 * The skeleton's settings, as the workflow gets them: complete (the built-in
 * defaults in src/domain/upgradeSettings.ts), durations in milliseconds.
 */
export interface UpgradeOptions {
  /** manual: a gate before promote unless approveBefore says otherwise; auto: none (the state shows the mode). */
  approval: 'manual' | 'auto';
  standbyWindowMs: number;
  /** Per-step time limit; a step that overruns is rolled back. A step without one has none. */
  stepTimeoutMs: Partial<Record<Step, number>>;
  /**
   * Attempts per activity before the step counts as failed for good: what runs
   * started before patch retry-by-time replay with. Later runs retry by time
   * (the step's limit or RETRY_WINDOW_MS) and ignore it.
   */
  maxAttempts: number;
  requireDistinctApprover: boolean;
  /** Green's weight step by step, rising to 100; all at once is one step to 100 (allAtOnce in upgradeSettings.ts). */
  traffic: TrafficStep[];
  /** Checks verify runs after the strategy's own verify. */
  verifyAnalysis: AnalysisCheck[];
  /** Steps that wait for approval. */
  approveBefore: GatedStep[];
  /** Each gate's auto-promotion and time limit (a gate runs only where approveBefore names it). */
  gates: Record<GatedStep, GateOptions>;
  /** waitReady also waits for the green release to report ready through the API. */
  waitForReadyReport: boolean;
  /** How long a rollback keeps retrying its undos before a person must look. */
  rollbackTimeoutMs: number;
}

/** An upgrade of a kind K, as the workflow gets it (complete: see src/domain/upgradeSettings.ts). */
export interface UpgradeInputOf<K extends Kind> {
  kind: K;
  target: string;
  version: string;
  image?: string;
  requestedBy: string;
  reason?: string;
  options: UpgradeOptions;
  /** The kind's own settings (the request's options.<kind>), under its name. */
  settings: { [P in K]: KindSettings<P> };
  /** The target's policy when the upgrade started (absent in runs started before policies): the approval rules the workflow enforces. */
  policy?: UpgradePolicy;
  /** The sinks that want this upgrade's events, by name (absent: none, as in runs started before notifications). */
  notifications?: NotificationSubscription[];
}

/** An upgrade of kind K; of any kind, a union discriminated by `kind`. */
export type UpgradeInput<K extends Kind = Kind> = { [P in K]: UpgradeInputOf<P> }[K];

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
  /** How many reports of green were recorded (a repeat of the latest is not). */
  reports?: number;
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
  /** gate: whose rule an approval must meet, while the upgrade awaits one. */
  approval: { mode: 'manual' | 'auto'; autoPromoteAt?: string; approvedBy?: string; approvedAt?: string; gate?: ApprovalGate };
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
/** A run's page in the Temporal UI (its history is the upgrade's audit log). */
export const temporalUiRunUrl = (uiUrl: string, namespace: string, target: string, runId: string): string =>
  `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(upgradeWorkflowId(target))}/${runId}/history`;
export function parseUpgradeId(id: string): { target: string; runId: string } | undefined {
  const m = /^([a-z0-9][-a-z0-9]*)\.([0-9a-f-]{36})$/.exec(id);
  return m ? { target: m[1], runId: m[2] } : undefined;
}

/**
 * The release name a version of a target gets: `<target>-<version slug>-<suffix>`,
 * a DNS label of at most RELEASE_NAME_MAX characters (a StatefulSet's pods carry
 * `<name>-<revision hash>` as a label value, which must fit in 63), and a
 * PostgreSQL identifier once its dashes are underscores. The suffix is the
 * target name's length (2 base-36 digits) and a 32-bit hash of target and
 * version (8 hex digits): two targets' names can never be equal (equal names
 * have equal suffixes, so equal target lengths, so equal targets, which are
 * their prefixes), and two versions of one target whose slugs are equal
 * (2.0.0 and 2-0-0) differ by their hash. The slug is cut to fit; the target
 * (at most 40 characters) never is.
 */
export function releaseName(target: string, version: string): string {
  const suffix = target.length.toString(36).padStart(2, '0') + fnv1a(`${target}\0${version}`).toString(16).padStart(8, '0');
  const room = RELEASE_NAME_MAX - target.length - suffix.length - 2;
  const slug = versionSlug(version).slice(0, Math.max(0, room)).replace(/-+$/, '');
  return slug ? `${target}-${slug}-${suffix}` : `${target}-${suffix}`;
}

/** Why green cannot be the new release of a target blue serves: it is blue (its name or its version), or undefined. */
export function alreadyRuns(target: string, blue: ReleaseRef, green: ReleaseRef): string | undefined {
  return green.name === blue.name || green.version === blue.version ? `${target} already runs ${blue.version} (release ${blue.name})` : undefined;
}

/** Release names are at most this long: `<name>-<10-character revision hash>` must stay a 63-character label value. */
export const RELEASE_NAME_MAX = 52;

/**
 * Release names of runs started before the patch that introduced releaseName
 * (release-ownership): `<target>-<version slug>`, cut at 63. Two targets could
 * get the same one (orders at view-2.0.0, orders-view at 2.0.0).
 */
export function legacyReleaseName(target: string, version: string): string {
  return `${target}-${versionSlug(version)}`.slice(0, 63).replace(/-+$/, '');
}

const versionSlug = (version: string): string =>
  version
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');

/** FNV-1a, 32 bits: pure arithmetic, so workflow code can run it. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
