/**
 * Where an upgrade's settings become complete, once. The API's normaliser
 * (src/config/normalise.ts) converts a request's options, layered over the
 * configuration's, to milliseconds and hands what was given here; the
 * workflow hands here the input it was started with, so an input recorded
 * before settings were complete (in a history, an upgrade in flight) gets
 * what it lacks exactly as a new one does. Every default of the skeleton is
 * below; each kind's are in its module (completeSettings).
 */
import { KIND_MODULES, type Kind, type KindSettings, type RecordedKindSettings } from './kindRegistry';
import type { GateOptions, GatedStep, TrafficStep, UpgradeInput, UpgradeInputOf, UpgradeOptions } from './upgrade';
import { withDefaults } from './withDefaults';

/** What applies when neither the request nor the configuration says otherwise. */
export const UPGRADE_DEFAULTS = {
  approval: 'manual',
  standbyWindowMs: 600_000,
  maxAttempts: 3,
  requireDistinctApprover: false,
  waitForReadyReport: false,
  rollbackTimeoutMs: 3_600_000,
} as const satisfies Partial<UpgradeOptions>;

/** The traffic plan `all-at-once`: green gets all traffic in one change. */
export const allAtOnce = (): TrafficStep[] => [{ weight: 100, analysis: [] }];

/**
 * The skeleton's settings as given: what a request's options and the
 * configuration's say, converted; or what an input recorded before settings
 * were complete holds (traffic `all-at-once` or absent, no approveBefore,
 * gates or rollback limit, the gate before promote as autoPromoteAfterMs and
 * stepTimeoutMs.gate).
 */
export interface GivenOptions extends Partial<Omit<UpgradeOptions, 'traffic' | 'gates'>> {
  traffic?: 'all-at-once' | TrafficStep[];
  gates?: Partial<Record<GatedStep, GateOptions>>;
  /** Only with approval manual: the gate before promote approves by itself after this long. */
  autoPromoteAfterMs?: number;
}

/** Every skeleton setting: what was given over the defaults, the gates' from approval and the gate before promote's older fields. */
export function completeOptions(given: GivenOptions): UpgradeOptions {
  const { traffic, gates, autoPromoteAfterMs, stepTimeoutMs = {}, verifyAnalysis = [], approveBefore, ...rest } = given;
  const options = withDefaults<Omit<UpgradeOptions, 'stepTimeoutMs' | 'traffic' | 'verifyAnalysis' | 'approveBefore' | 'gates'>>(UPGRADE_DEFAULTS, rest);
  const manual = options.approval === 'manual';
  // autoPromoteAfter (only a manual gate auto-promotes) and stepTimeouts.gate are the gate before promote's, under its own gates.promote
  const promote = withDefaults<GateOptions>({}, { autoPromoteAfterMs: manual ? autoPromoteAfterMs : undefined, timeoutMs: stepTimeoutMs.gate, ...gates?.promote });
  return {
    ...options,
    stepTimeoutMs,
    traffic: traffic === undefined || traffic === 'all-at-once' ? allAtOnce() : traffic,
    verifyAnalysis,
    approveBefore: approveBefore ?? (manual ? ['promote'] : []),
    gates: { promote, finalize: withDefaults<GateOptions>({}, { ...gates?.finalize }) },
  };
}

/** Whether a traffic plan is all at once: one step to 100 with no pause, check or approval of its own. */
export function isAllAtOnce(traffic: readonly TrafficStep[]): boolean {
  return JSON.stringify(traffic) === JSON.stringify(allAtOnce());
}

/** An upgrade's input as recorded: complete, or from before settings were complete (the kind's then under options.settings). */
export type RecordedUpgradeInput<K extends Kind = Kind> = {
  [P in K]: Omit<UpgradeInputOf<P>, 'options' | 'settings'> & {
    options: GivenOptions & { settings?: { [Q in P]?: RecordedKindSettings<Q> } };
    settings?: { [Q in P]?: RecordedKindSettings<Q> };
  };
}[K];

/** The input with every setting: one the API started comes back equal; one recorded before settings were complete gets what it lacks as the API gives it now. */
export function completeInput<K extends Kind>(recorded: RecordedUpgradeInput<K>): UpgradeInput<K> {
  const { options, settings, ...rest } = recorded;
  const { settings: older, ...given } = options;
  const kind: K = recorded.kind;
  const mine: RecordedKindSettings<K> = settings?.[kind] ?? older?.[kind] ?? {};
  const module: (typeof KIND_MODULES)[K] | undefined = KIND_MODULES[kind];
  // an input of a kind this code does not know (started past the API) gets none: plan refuses it
  const complete = module ? keyed(kind, module.completeSettings(mine)) : ({} as { [P in K]: KindSettings<P> });
  return { ...rest, options: completeOptions(given), settings: complete };
}

/** A kind's settings under its name. */
export function keyed<K extends Kind>(kind: K, settings: KindSettings<K>): { [P in K]: KindSettings<P> } {
  // a computed key widens to a string index: the one place its kind is restated
  return { [kind]: settings } as { [P in K]: KindSettings<P> };
}
