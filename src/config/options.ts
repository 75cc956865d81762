/**
 * Upgrade options as people write them (durations as "90s", "10m", "1h30m"),
 * in the config file's defaults, a target's defaults and an API request, and
 * their conversion to the workflow's UpgradeOptions (milliseconds). Each kind
 * adds its own `options.<kind>` block through the kind registry.
 */
import { Type, type Static, type TOptional } from '@sinclair/typebox';
import { parseDuration } from '../domain/duration';
import { kindModules, type KIND_MODULES, type Kind } from '../domain/kinds';
import { Duration } from '../domain/schemas';
import { STEPS, type Step, type UpgradeOptions } from '../domain/upgrade';

export { Duration };

type KindOptions = { [K in Kind]: TOptional<(typeof KIND_MODULES)[K]['options']> };
const kindOptions = Object.fromEntries(kindModules().map((k) => [k.kind, Type.Optional(k.options)])) as KindOptions;

/** Pattern-checked strings carry their description as the noun a 400 uses: "must be a duration such as ...". */
export const UpgradeOptionsInput = Type.Object(
  {
    approval: Type.Optional(Type.Union([Type.Literal('manual'), Type.Literal('auto')])),
    autoPromoteAfter: Type.Optional(Duration),
    standbyWindow: Type.Optional(Duration),
    stepTimeouts: Type.Optional(
      Type.Object(Object.fromEntries(STEPS.map((s) => [s, Type.Optional(Duration)])), { additionalProperties: false }),
    ),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    ...kindOptions,
  },
  {
    additionalProperties: false,
    description:
      'approval: manual waits for approve (or autoPromoteAfter), auto promotes without a gate; ' +
      'standbyWindow: how long the old release stands by, rollback being instant; ' +
      'stepTimeouts: time limit per step, a step that overruns is rolled back; ' +
      'maxAttempts: attempts per activity before a step fails for good; ' +
      '<kind>: the settings of that kind of system',
  },
);
export type UpgradeOptionsInput = Static<typeof UpgradeOptionsInput>;

/** What applies when neither the request nor the config file says otherwise. */
export const BUILTIN_DEFAULTS = {
  approval: 'manual',
  standbyWindow: '10m',
  maxAttempts: 3,
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
      const nested = key === 'stepTimeouts' || key in kindOptions;
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
  extra: Pick<UpgradeOptions, 'requireDistinctApprover'>,
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
    standbyWindowMs: parseDuration(o.standbyWindow),
    stepTimeoutMs,
    maxAttempts: o.maxAttempts,
    requireDistinctApprover: extra.requireDistinctApprover,
  };
}
