/**
 * The one normaliser: a request's options, layered over its target's
 * configuration (the kind's defaults, the file's, the target's), become the
 * upgrade's settings at start, complete and in milliseconds, as the workflow
 * gets them in its input. Durations are converted here once; every default
 * is applied by src/domain/upgradeSettings.ts (the skeleton's) and the kind's
 * module (its own), which the workflow also uses to upcast older inputs.
 */
import { AnalysisCheckError, AnalysisCheckInput, toAnalysisCheck, type AnalysisCheck } from '../domain/analysis';
import { formatDuration, parseDuration, parseOptionalDuration } from '../domain/duration';
import { KIND_MODULES, type Kind } from '../domain/kindRegistry';
import { trafficPlanProblem } from '../domain/traffic';
import { GATED_STEPS, type GateOptions, type GatedStep, type Step, type TrafficStep, type UpgradeInputOf, type UpgradeOptions } from '../domain/upgrade';
import { UPGRADE_DEFAULTS, completeOptions, keyed, type GivenOptions } from '../domain/upgradeSettings';
import { mergeOptions, type UpgradeOptionsInput } from './options';

/** A field of the options (path relative to them) that cannot be used, with the reason. */
export class OptionsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the normaliser adds besides the layers: four-eyes from the policy, the config file's named checks. */
export interface NormaliseExtra {
  requireDistinctApprover: boolean;
  checks?: AnalysisCheckInput[];
}

/** An upgrade's settings, the skeleton's and its kind's. */
export type NormalisedOptions<K extends Kind = Kind> = { [P in K]: Pick<UpgradeInputOf<P>, 'kind' | 'options' | 'settings'> }[K];

/**
 * The layers, most general first (`request`, the last, is the most specific),
 * as the settings of an upgrade of `kind`. Throws OptionsError for
 * combinations the schema cannot express.
 */
export function normaliseOptions<K extends Kind>(kind: K, layers: UpgradeOptionsInput[], extra: NormaliseExtra): NormalisedOptions<K> {
  const merged = mergeOptions(layers);
  const options = skeletonOptions(merged, layers[layers.length - 1] ?? {}, extra);
  return { kind, options, settings: keyed(kind, KIND_MODULES[kind].toSettings(merged[kind] ?? {})) };
}

/** The skeleton's settings alone: for layers that belong to no one target (the config file's defaults). */
export function toUpgradeOptions(layers: UpgradeOptionsInput[], extra: NormaliseExtra): UpgradeOptions {
  return skeletonOptions(mergeOptions(layers), layers[layers.length - 1] ?? {}, extra);
}

function skeletonOptions(o: UpgradeOptionsInput, request: UpgradeOptionsInput, extra: NormaliseExtra): UpgradeOptions {
  // a rule about what the requester asked: the configuration's autoPromoteAfter is for its own approval manual
  if (request.autoPromoteAfter !== undefined && o.approval === 'auto') {
    throw new OptionsError('autoPromoteAfter', 'applies only with approval manual: approval auto has no gate to wait at');
  }
  const stepTimeoutMs = stepTimeouts(o.stepTimeouts ?? {});
  const check = resolver(extra.checks ?? [], o.analysis ?? []);
  const given: GivenOptions = {
    approval: o.approval,
    autoPromoteAfterMs: parseOptionalDuration(o.autoPromoteAfter),
    standbyWindowMs: parseOptionalDuration(o.standbyWindow),
    stepTimeoutMs,
    maxAttempts: o.maxAttempts,
    requireDistinctApprover: extra.requireDistinctApprover,
    traffic: toTraffic(o.traffic, check),
    verifyAnalysis: (o.verifyAnalysis ?? []).map((name, i) => check(name, `verifyAnalysis[${i}]`)),
    approveBefore: o.approveBefore,
    gates: toGates(o.gates),
    waitForReadyReport: o.waitForReadyReport,
    rollbackTimeoutMs: parseOptionalDuration(o.rollbackTimeout),
  };
  const settings = completeOptions(given);
  const { standBy } = settings.stepTimeoutMs;
  // Equal would race: the limit's timer and the window's fire at one instant, and the limit, set first, wins.
  if (standBy !== undefined && standBy <= settings.standbyWindowMs) {
    const window = o.standbyWindow ?? formatDuration(UPGRADE_DEFAULTS.standbyWindowMs);
    throw new OptionsError('stepTimeouts.standBy', `is not longer than standbyWindow (${window}): the standby step lasts its whole window`);
  }
  if (settings.rollbackTimeoutMs <= 0) throw new OptionsError('rollbackTimeout', 'must be longer than 0s');
  for (const step of GATED_STEPS) gateProblem(o, step, settings.gates[step]);
  return settings;
}

function stepTimeouts(texts: NonNullable<UpgradeOptionsInput['stepTimeouts']>): Partial<Record<Step, number>> {
  const out: Partial<Record<Step, number>> = {};
  for (const [step, text] of Object.entries(texts) as [Step, string | undefined][]) {
    if (text === undefined) continue;
    const ms = parseDuration(text);
    if (ms <= 0) throw new OptionsError(`stepTimeouts.${step}`, 'must be longer than 0s');
    out[step] = ms;
  }
  return out;
}

/**
 * Checks by name, the options' own winning over the config file's. The
 * options' own are all converted (a check no step names is still checked);
 * the file's were when the file was read.
 */
function resolver(fileChecks: AnalysisCheckInput[], own: AnalysisCheckInput[]): (name: string, field: string) => AnalysisCheck {
  const convert = (c: AnalysisCheckInput, i: number): [string, AnalysisCheck] => {
    try {
      return [c.name, toAnalysisCheck(c)];
    } catch (err) {
      if (err instanceof AnalysisCheckError) throw new OptionsError(`analysis[${i}].${err.field}`, err.message);
      throw err;
    }
  };
  const mine = new Map(own.map(convert));
  const file = new Map(fileChecks.map((c) => [c.name, c]));
  return (name, field) => {
    const check = mine.get(name) ?? (file.has(name) ? toAnalysisCheck(file.get(name)!) : undefined);
    if (!check) throw new OptionsError(field, `names no analysis check '${name}' (known: ${[...new Set([...file.keys(), ...mine.keys()])].join(', ') || 'none'})`);
    return check;
  };
}

function toTraffic(traffic: UpgradeOptionsInput['traffic'], check: (name: string, field: string) => AnalysisCheck): GivenOptions['traffic'] {
  if (traffic === undefined || traffic === 'all-at-once') return traffic;
  const problem = trafficPlanProblem(traffic.map((s) => s.weight));
  if (problem) throw new OptionsError('traffic', problem);
  return traffic.map((s, i): TrafficStep => {
    const step: TrafficStep = { weight: s.weight, analysis: (s.analysis ?? []).map((name, j) => check(name, `traffic[${i}].analysis[${j}]`)) };
    if (s.pause !== undefined) step.pauseMs = parseDuration(s.pause);
    if (s.approve) step.approve = true;
    return step;
  });
}

function toGates(gates: UpgradeOptionsInput['gates']): GivenOptions['gates'] {
  const out: GivenOptions['gates'] = {};
  for (const step of GATED_STEPS) {
    const given = gates?.[step];
    if (given) out[step] = { autoPromoteAfterMs: parseOptionalDuration(given.autoPromoteAfter), timeoutMs: parseOptionalDuration(given.timeout) };
  }
  return out;
}

/** A gate whose auto-promotion is not before its time limit could never fire: refused, naming the fields as written. */
function gateProblem(o: UpgradeOptionsInput, step: GatedStep, gate: GateOptions): void {
  if (gate.autoPromoteAfterMs === undefined || gate.timeoutMs === undefined || gate.autoPromoteAfterMs < gate.timeoutMs) return;
  const given = o.gates?.[step];
  const [field, auto] = given?.autoPromoteAfter !== undefined ? [`gates.${step}.autoPromoteAfter`, given.autoPromoteAfter] : ['autoPromoteAfter', o.autoPromoteAfter];
  const [limit, timeout] = given?.timeout !== undefined ? [`gates.${step}.timeout`, given.timeout] : ['stepTimeouts.gate', o.stepTimeouts?.gate];
  throw new OptionsError(field, `${auto} is not shorter than the gate's time limit (${limit} ${timeout}): the time limit rolls back first, so it could never fire`);
}
