/**
 * Upgrade options as people write them (durations as "90s", "10m", "1h30m"),
 * in the config file's defaults and in an API request, and their conversion
 * to the workflow's UpgradeOptions (milliseconds).
 */
import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN, parseDuration } from '../domain/duration';
import type { EmqxSettings } from '../domain/emqxSettings';
import { STEPS, type Step, type UpgradeOptions } from '../domain/upgrade';

export const Duration = Type.String({
  pattern: DURATION_PATTERN,
  description: 'a duration such as 90s, 10m or 1h30m',
  examples: ['10m'],
});

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
    emqx: Type.Optional(
      Type.Object(
        {
          connEvictRate: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'connections evicted per second per node' })),
          sessEvictRate: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'sessions migrated per second per node' })),
          waitTakeover: Type.Optional(Duration),
          waitHealthCheck: Type.Optional(Duration),
          initialDelay: Type.Optional(Duration),
          drainInterval: Type.Optional(Duration),
        },
        {
          additionalProperties: false,
          description:
            'EMQX draining, as the EMQX Operator\'s evacuationStrategy: eviction rates, the takeover and health-check waits, ' +
            'the delay after the Service switch, and the interval between pod removals when the evacuation API is absent',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'approval: manual waits for approve (or autoPromoteAfter), auto promotes without a gate; ' +
      'standbyWindow: how long the old release stands by, rollback being instant; ' +
      'stepTimeouts: time limit per step, a step that overruns is rolled back; ' +
      'maxAttempts: attempts per activity before a step fails for good',
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
 * Request options over configured defaults over built-in defaults. Step
 * timeouts merge per step. Throws OptionsError for combinations the schema
 * cannot express.
 */
export function toUpgradeOptions(
  request: UpgradeOptionsInput,
  defaults: UpgradeOptionsInput,
  extra: Pick<UpgradeOptions, 'requireDistinctApprover' | 'settings'>,
): UpgradeOptions {
  const o = { ...BUILTIN_DEFAULTS, ...defaults, ...request, stepTimeouts: { ...defaults.stepTimeouts, ...request.stepTimeouts } };
  if (request.autoPromoteAfter !== undefined && o.approval === 'auto') {
    throw new OptionsError('autoPromoteAfter', 'applies only with approval manual: approval auto has no gate to wait at');
  }
  const stepTimeoutMs: Partial<Record<Step, number>> = {};
  for (const [step, text] of Object.entries(o.stepTimeouts) as [Step, string | undefined][]) {
    if (text === undefined) continue;
    const ms = parseDuration(text);
    if (ms <= 0) throw new OptionsError(`stepTimeouts.${step}`, 'must be longer than 0s');
    stepTimeoutMs[step] = ms;
  }
  return {
    settings: o.emqx ? { ...extra.settings, emqx: { ...(extra.settings.emqx as object), ...emqxSettingsOf(o.emqx) } } : extra.settings,
    approval: o.approval,
    // Only a manual gate auto-promotes; a configured default does not turn auto into manual.
    autoPromoteAfterMs: o.approval === 'manual' && o.autoPromoteAfter !== undefined ? parseDuration(o.autoPromoteAfter) : undefined,
    standbyWindowMs: parseDuration(o.standbyWindow),
    stepTimeoutMs,
    maxAttempts: o.maxAttempts,
    requireDistinctApprover: extra.requireDistinctApprover,
  };
}

function emqxSettingsOf(e: NonNullable<UpgradeOptionsInput['emqx']>): Partial<EmqxSettings> {
  const seconds = (text?: string) => (text === undefined ? undefined : Math.ceil(parseDuration(text) / 1000));
  const ms = (text?: string) => (text === undefined ? undefined : parseDuration(text));
  const all: Partial<EmqxSettings> = {
    connEvictRate: e.connEvictRate,
    sessEvictRate: e.sessEvictRate,
    waitTakeoverSec: seconds(e.waitTakeover),
    waitHealthCheckSec: seconds(e.waitHealthCheck),
    initialDelayMs: ms(e.initialDelay),
    drainIntervalMs: ms(e.drainInterval),
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}
