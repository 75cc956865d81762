/**
 * Upgrade options as people write them (durations as "90s", "10m", "1h30m"),
 * in the config file's defaults, a target's defaults and an API request, and
 * their conversion to the workflow's UpgradeOptions (milliseconds). Each kind
 * adds its own `options.<kind>` block through the kind registry.
 */
import { Type, type Static, type TOptional } from '@sinclair/typebox';
import { AnalysisCheckError, AnalysisCheckInput, toAnalysisCheck, type AnalysisCheck } from '../domain/analysis';
import { parseDuration } from '../domain/duration';
import { kindModules, type KIND_MODULES, type Kind } from '../domain/kinds';
import { Duration } from '../domain/schemas';
import { trafficPlanProblem } from '../domain/traffic';
import { GATED_STEPS, STEPS, type GateOptions, type GatedStep, type Step, type TrafficStep, type UpgradeOptions } from '../domain/upgrade';

export { Duration };

type KindOptions = { [K in Kind]: TOptional<(typeof KIND_MODULES)[K]['options']> };
const kindOptions = Object.fromEntries(kindModules().map((k) => [k.kind, Type.Optional(k.options)])) as KindOptions;

const CheckName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$', description: 'the name of an analysis check' });

export const TrafficStepInput = Type.Object(
  {
    weight: Type.Integer({ minimum: 1, maximum: 100, description: "green's share of traffic in percent; steps rise to 100" }),
    pause: Type.Optional({ ...Duration, description: 'wait after the weights are set, before the analysis' }),
    analysis: Type.Optional(Type.Array(CheckName, { maxItems: 20, description: 'checks (from options.analysis or the config file) that must pass at this weight' })),
    approve: Type.Optional(Type.Boolean({ description: 'wait for approval before the next step' })),
  },
  { additionalProperties: false },
);

const GateInput = Type.Object(
  {
    autoPromoteAfter: Type.Optional({ ...Duration, description: 'approve by itself after this long' }),
    timeout: Type.Optional({ ...Duration, description: 'without approval within this long, roll back' }),
  },
  { additionalProperties: false },
);

/** Pattern-checked strings carry their description as the noun a 400 uses: "must be a duration such as ...". */
export const UpgradeOptionsInput = Type.Object(
  {
    approval: Type.Optional(Type.Union([Type.Literal('manual'), Type.Literal('auto')])),
    autoPromoteAfter: Type.Optional(Duration),
    standbyWindow: Type.Optional(Duration),
    stepTimeouts: Type.Optional(
      Type.Object(Object.fromEntries(STEPS.map((s) => [s, Type.Optional(Duration)])), { additionalProperties: false }),
    ),
    maxAttempts: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, description: 'not used since retries are bounded by time (kept so that requests and configs that set it are accepted)' }),
    ),
    traffic: Type.Optional(
      Type.Union([Type.Literal('all-at-once'), Type.Array(TrafficStepInput, { minItems: 1, maxItems: 100 })], {
        description: 'all-at-once (default), or weighted steps rising to 100, each with an optional pause, analysis and approval',
      }),
    ),
    analysis: Type.Optional(Type.Array(AnalysisCheckInput, { maxItems: 50, description: 'checks given inline, by name for traffic steps (they win over the config file\'s of the same name)' })),
    verifyAnalysis: Type.Optional(Type.Array(CheckName, { maxItems: 20, description: 'checks that verify runs before the gate' })),
    approveBefore: Type.Optional(
      Type.Array(Type.Union(GATED_STEPS.map((s) => Type.Literal(s))), { uniqueItems: true, maxItems: GATED_STEPS.length, description: 'steps that wait for approval; default: [promote] with approval manual, [] with auto' }),
    ),
    gates: Type.Optional(Type.Object({ promote: Type.Optional(GateInput), finalize: Type.Optional(GateInput) }, { additionalProperties: false })),
    waitForReadyReport: Type.Optional(Type.Boolean({ description: 'waitReady also waits for green to POST .../releases/:release/ready' })),
    rollbackTimeout: Type.Optional({ ...Duration, description: 'how long a rollback retries its undos before it asks for a person (default 1h)' }),
    ...kindOptions,
  },
  {
    additionalProperties: false,
    description:
      'approval: manual waits for approve (or autoPromoteAfter), auto promotes without a gate; ' +
      'standbyWindow: how long the old release stands by, rollback being instant; ' +
      'stepTimeouts: time limit per step, a step that overruns is rolled back; ' +
      'a transient failure is retried until the step\'s time limit, or without one its retry window (maxAttempts is no longer used); ' +
      '<kind>: the settings of that kind of system',
  },
);
export type UpgradeOptionsInput = Static<typeof UpgradeOptionsInput>;

/** What applies when neither the request nor the config file says otherwise. */
export const BUILTIN_DEFAULTS = {
  approval: 'manual',
  standbyWindow: '10m',
  maxAttempts: 3,
  rollbackTimeout: '1h',
} as const satisfies UpgradeOptionsInput;

/** A field of the options (path relative to them) that cannot be used, with the reason. */
export class OptionsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Layers of options, most general first (the kind's defaults, the config
 * file's, the target's, the request): a later layer wins field by field;
 * step timeouts and each kind's block merge key by key.
 */
export function mergeOptions(layers: UpgradeOptionsInput[]): UpgradeOptionsInput {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const nested = key === 'stepTimeouts' || key === 'gates' || key in kindOptions;
      merged[key] = nested ? { ...(merged[key] as object | undefined), ...(value as object) } : value;
    }
  }
  return merged as UpgradeOptionsInput;
}

/**
 * The merged options in the workflow's units. `request` is the most specific
 * layer; a rule that concerns what the requester asked (autoPromoteAfter with
 * approval auto) is checked against it. Throws OptionsError for combinations
 * the schema cannot express.
 */
export function toUpgradeOptions(
  layers: UpgradeOptionsInput[],
  extra: Pick<UpgradeOptions, 'requireDistinctApprover'> & { checks?: AnalysisCheckInput[] },
): UpgradeOptions {
  const request = layers[layers.length - 1] ?? {};
  const o = { ...BUILTIN_DEFAULTS, ...mergeOptions(layers) };
  if (request.autoPromoteAfter !== undefined && o.approval === 'auto') {
    throw new OptionsError('autoPromoteAfter', 'applies only with approval manual: approval auto has no gate to wait at');
  }
  const stepTimeoutMs: Partial<Record<Step, number>> = {};
  for (const [step, text] of Object.entries(o.stepTimeouts ?? {}) as [Step, string | undefined][]) {
    if (text === undefined) continue;
    const ms = parseDuration(text);
    if (ms <= 0) throw new OptionsError(`stepTimeouts.${step}`, 'must be longer than 0s');
    stepTimeoutMs[step] = ms;
  }
  const standbyWindowMs = parseDuration(o.standbyWindow);
  // Equal would race: the limit's timer and the window's fire at one instant, and the limit, set first, wins.
  if (stepTimeoutMs.standBy !== undefined && stepTimeoutMs.standBy <= standbyWindowMs) {
    throw new OptionsError('stepTimeouts.standBy', `is not longer than standbyWindow (${o.standbyWindow}): the standby step lasts its whole window`);
  }
  const rollbackTimeoutMs = parseDuration(o.rollbackTimeout);
  if (rollbackTimeoutMs <= 0) throw new OptionsError('rollbackTimeout', 'must be longer than 0s');
  const check = resolver(extra.checks ?? [], o.analysis ?? []);
  const settings: Record<string, unknown> = {};
  for (const k of kindModules()) {
    const given = (o as Record<string, unknown>)[k.kind];
    if (given !== undefined) settings[k.kind] = k.toSettings(given as never);
  }
  return {
    settings,
    approval: o.approval,
    // Only a manual gate auto-promotes; a configured default does not turn auto into manual.
    autoPromoteAfterMs: o.approval === 'manual' && o.autoPromoteAfter !== undefined ? parseDuration(o.autoPromoteAfter) : undefined,
    standbyWindowMs,
    stepTimeoutMs,
    maxAttempts: o.maxAttempts,
    requireDistinctApprover: extra.requireDistinctApprover,
    traffic: toTraffic(o.traffic, check),
    verifyAnalysis: (o.verifyAnalysis ?? []).map((name, i) => check(name, `verifyAnalysis[${i}]`)),
    approveBefore: o.approveBefore ?? (o.approval === 'manual' ? ['promote'] : []),
    gates: toGates(o.gates, o),
    waitForReadyReport: o.waitForReadyReport ?? false,
    rollbackTimeoutMs,
  };
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

function toTraffic(traffic: UpgradeOptionsInput['traffic'], check: (name: string, field: string) => AnalysisCheck): UpgradeOptions['traffic'] {
  if (traffic === undefined || traffic === 'all-at-once') return 'all-at-once';
  const problem = trafficPlanProblem(traffic.map((s) => s.weight));
  if (problem) throw new OptionsError('traffic', problem);
  return traffic.map((s, i): TrafficStep => {
    const step: TrafficStep = { weight: s.weight, analysis: (s.analysis ?? []).map((name, j) => check(name, `traffic[${i}].analysis[${j}]`)) };
    if (s.pause !== undefined) step.pauseMs = parseDuration(s.pause);
    if (s.approve) step.approve = true;
    return step;
  });
}

/** Per-gate settings; approval's autoPromoteAfter and stepTimeouts.gate stay the gate before promote's. */
function toGates(gates: UpgradeOptionsInput['gates'], o: UpgradeOptionsInput): Partial<Record<GatedStep, GateOptions>> {
  const out: Partial<Record<GatedStep, GateOptions>> = {};
  for (const step of GATED_STEPS) {
    const given = gates?.[step];
    const auto = given?.autoPromoteAfter ?? (step === 'promote' && o.approval === 'manual' ? o.autoPromoteAfter : undefined);
    const timeout = given?.timeout ?? (step === 'promote' ? o.stepTimeouts?.gate : undefined);
    const gate: GateOptions = {};
    if (auto !== undefined) gate.autoPromoteAfterMs = parseDuration(auto);
    if (timeout !== undefined) gate.timeoutMs = parseDuration(timeout);
    if (gate.autoPromoteAfterMs !== undefined && gate.timeoutMs !== undefined && gate.autoPromoteAfterMs >= gate.timeoutMs) {
      const field = given?.autoPromoteAfter !== undefined ? `gates.${step}.autoPromoteAfter` : 'autoPromoteAfter';
      const limit = given?.timeout !== undefined ? `gates.${step}.timeout` : 'stepTimeouts.gate';
      throw new OptionsError(field, `${auto} is not shorter than the gate's time limit (${limit} ${timeout}): the time limit rolls back first, so it could never fire`);
    }
    if (Object.keys(gate).length) out[step] = gate;
  }
  return out;
}
