/**
 * Upgrade options as people write them (durations as "90s", "10m", "1h30m"),
 * in the config file's defaults, a target's defaults and an API request, and
 * how their layers merge; normalise.ts makes them the upgrade's settings. Each
 * kind adds its own `options.<kind>` block through the kind registry.
 */
import { Type, type Static, type TOptional } from '@sinclair/typebox';
import { AnalysisCheckInput } from '../domain/analysis';
import { kindModules, type KIND_MODULES, type Kind } from '../domain/kindRegistry';
import { Duration } from '../domain/schemas';
import { GATED_STEPS, STEPS } from '../domain/upgrade';

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
