/**
 * Analysis checks with Argo Rollouts' meanings: a check takes `count`
 * measurements `interval` apart (after `initialDelay`); each measurement is
 * Successful, Failed, Inconclusive (no data, or neither condition matched) or
 * Error (the provider did not answer); more failures than `failureLimit`, more
 * inconclusive measurements than `inconclusiveLimit`, or more consecutive
 * errors than `consecutiveErrorLimit` end the check early with that phase.
 * Here: the check as people write it (config file `analysis: [...]`, request
 * `options.analysis`), the check the workflow carries, and the conversion.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseCondition } from './analysisCondition';
import { MAX_DURATION, MAX_DURATION_MS, parseDuration } from './duration';
import { Duration } from './schemas';

export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

/** A check as the workflow carries it (durations in milliseconds, defaults applied). */
export interface AnalysisCheck {
  name: string;
  /** 'prometheus', 'http', or a provider a kind's activities register (e.g. 'kong'). */
  provider: string;
  /** Prometheus (or a kind's provider) query; {{target}} {{release}} {{blue}} {{green}} are filled in. */
  query?: string;
  /** http provider: the URL to GET (templated as the query). */
  url?: string;
  /** http provider: the JSON field that is the measured value; without it the value is the status code. */
  jsonPath?: string;
  /** Between measurements; absent: one measurement. */
  intervalMs?: number;
  count?: number;
  initialDelayMs?: number;
  successCondition?: string;
  failureCondition?: string;
  /** Flagger's thresholdRange: inside is Successful, outside Failed. */
  thresholdRange?: { min?: number; max?: number };
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  /** pause: the upgrade waits for a person (AWAITING_APPROVAL); fail: it rolls back. */
  onInconclusive: 'pause' | 'fail';
}

export interface Measurement {
  at: string;
  phase: MeasurementPhase;
  value?: number;
  message?: string;
}

/** Measurements a result keeps, the latest: its counts cover every one, so its size does not grow with `count`. */
export const KEPT_MEASUREMENTS = 10;

/**
 * A whole run of one check. phase Error: provider errors beyond
 * consecutiveErrorLimit ("analysis provider ..." in message); Inconclusive:
 * no data / neither condition, beyond inconclusiveLimit.
 */
export interface AnalysisResult {
  check: string;
  phase: MeasurementPhase;
  /** The latest KEPT_MEASUREMENTS (every one in results recorded before that limit). */
  measurements: Measurement[];
  /** Measurements taken, by phase (absent in results recorded before). */
  taken?: Record<MeasurementPhase, number>;
  message: string;
}

/** Argo Rollouts' defaults. */
export const ANALYSIS_DEFAULTS = {
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  onInconclusive: 'pause',
} as const;

const Limit = (what: string, dflt: number) =>
  Type.Optional(
    Type.Integer({ minimum: 0, maximum: 1000, default: dflt, description: `${what} tolerated; one more ends the check (default ${dflt})` }),
  );

export const AnalysisCheckInput = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$',
      description: 'a check name of letters, digits, _ . - (what traffic steps name)',
      examples: ['error-rate'],
    }),
    provider: Type.String({
      pattern: '^[a-z][a-z0-9-]{0,31}$',
      description: "a provider name: 'prometheus' (an instant query), 'http' (a GET: the status code or a JSON field), or a kind's own such as 'kong'",
      examples: ['prometheus'],
    }),
    query: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'PromQL (or the kind provider\'s query) whose single value is `result`; {{target}}, {{release}}, {{blue}}, {{green}} are filled in',
        examples: ['sum(rate(http_requests_total{release="{{green}}",code=~"5.."}[1m])) / sum(rate(http_requests_total{release="{{green}}"}[1m]))'],
      }),
    ),
    url: Type.Optional(
      Type.String({ pattern: '^https?://', maxLength: 2048, description: 'an http(s) URL to GET (http provider; placeholders as in query)' }),
    ),
    jsonPath: Type.Optional(
      Type.String({
        pattern: '^\\$?(\\.?[A-Za-z0-9_-]+|\\[[0-9]+\\])+$',
        description: 'a JSON path such as $.checks[0].errorRate: the field of the answer that is `result` (http provider; without it `result` is the status code)',
      }),
    ),
    interval: Type.Optional({ ...Duration, description: 'a duration such as 30s: the time between measurements (without it, one measurement)' }),
    count: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'measurements to take (default 1; required with interval). Provider errors do not count: they are retried' }),
    ),
    initialDelay: Type.Optional({ ...Duration, description: 'a duration such as 1m: the wait before the first measurement' }),
    successCondition: Type.Optional(
      Type.String({ minLength: 1, maxLength: 500, description: 'expression over `result` that makes a measurement Successful, e.g. result < 0.05 (operators < <= > >= == != && || ! + - * / and parentheses)' }),
    ),
    failureCondition: Type.Optional(
      Type.String({ minLength: 1, maxLength: 500, description: 'expression over `result` that makes a measurement Failed; with both conditions, a measurement matching neither is Inconclusive' }),
    ),
    thresholdRange: Type.Optional(
      Type.Object(
        { min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) },
        { additionalProperties: false, description: "Flagger's form instead of conditions: Successful inside [min, max], Failed outside" },
      ),
    ),
    failureLimit: Limit('Failed measurements', ANALYSIS_DEFAULTS.failureLimit),
    inconclusiveLimit: Limit('Inconclusive measurements (no data, or neither condition)', ANALYSIS_DEFAULTS.inconclusiveLimit),
    consecutiveErrorLimit: Limit('consecutive provider errors', ANALYSIS_DEFAULTS.consecutiveErrorLimit),
    onInconclusive: Type.Optional(
      Type.Union([Type.Literal('pause'), Type.Literal('fail')], {
        default: ANALYSIS_DEFAULTS.onInconclusive,
        description: 'an Inconclusive check pauses the upgrade for a person to approve or roll back (pause, default) or rolls it back (fail)',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'An analysis check with Argo Rollouts\' meanings: a query with no data is Inconclusive, never a success; provider errors count apart from failures',
  },
);
export type AnalysisCheckInput = Static<typeof AnalysisCheckInput>;

/** A field of a check (path relative to it) that cannot be used, with the reason. */
export class AnalysisCheckError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The placeholders a query or URL may use, filled in when a measurement is taken. */
export const TEMPLATE_VARS = ['target', 'release', 'blue', 'green'] as const;
const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/** Fills {{target}}, {{release}}, {{blue}}, {{green}}; `encode` escapes values, e.g. for a URL. */
export function fillTemplate(text: string, vars: Record<string, string>, encode: (value: string) => string = (v) => v): string {
  return text.replace(PLACEHOLDER, (_all, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`{{${name}}} has no value here (known: ${Object.keys(vars).join(', ')})`);
    return encode(value);
  });
}

/** What a provider needs besides the schema: the built-in ones name their required field. */
const REQUIRED_FIELD: Record<string, 'query' | 'url'> = { prometheus: 'query', http: 'url' };

/** The check the workflow carries. Throws AnalysisCheckError for combinations the schema cannot express. */
/** How long a check's measurements take: its initial delay, then `count` intervals (absent: none, and one measurement). */
export function measuringMs(check: Pick<AnalysisCheck, 'initialDelayMs' | 'intervalMs' | 'count'>): number {
  return (check.initialDelayMs ?? 0) + (check.intervalMs ?? 0) * (check.count ?? 1);
}

export function toAnalysisCheck(input: AnalysisCheckInput): AnalysisCheck {
  const required = Object.hasOwn(REQUIRED_FIELD, input.provider) ? REQUIRED_FIELD[input.provider] : undefined;
  if (required && input[required] === undefined) throw new AnalysisCheckError(required, `is required by provider ${input.provider}`);
  for (const field of ['query', 'url'] as const) {
    for (const [, name] of (input[field] ?? '').matchAll(PLACEHOLDER)) {
      if (!(TEMPLATE_VARS as readonly string[]).includes(name)) {
        throw new AnalysisCheckError(field, `{{${name}}} is not a placeholder: use ${TEMPLATE_VARS.map((v) => `{{${v}}}`).join(', ')}`);
      }
    }
  }
  if (input.thresholdRange && (input.successCondition ?? input.failureCondition) !== undefined) {
    throw new AnalysisCheckError('thresholdRange', 'give either thresholdRange or conditions, not both');
  }
  const { min, max } = input.thresholdRange ?? {};
  if (input.thresholdRange && min === undefined && max === undefined) throw new AnalysisCheckError('thresholdRange', 'needs min, max or both');
  if (min !== undefined && max !== undefined && min > max) throw new AnalysisCheckError('thresholdRange', `min ${min} is above max ${max}`);
  for (const field of ['successCondition', 'failureCondition'] as const) {
    const text = input[field];
    if (text === undefined) continue;
    try {
      parseCondition(text);
    } catch (e) {
      throw new AnalysisCheckError(field, `'${text}' ${(e as Error).message}`);
    }
  }
  const intervalMs = input.interval === undefined ? undefined : parseDuration(input.interval);
  if (intervalMs !== undefined && intervalMs <= 0) throw new AnalysisCheckError('interval', 'must be longer than 0s');
  if (intervalMs !== undefined && input.count === undefined) {
    throw new AnalysisCheckError('count', 'is required with interval (a step cannot wait for an endless analysis)');
  }
  const count = input.count ?? 1;
  if (count > 1 && intervalMs === undefined) throw new AnalysisCheckError('interval', `is required when count is ${count}`);
  const initialDelayMs = input.initialDelay === undefined ? undefined : parseDuration(input.initialDelay);
  // As long as the workflow lets the run take (trafficPlan.ts analyse): it must fit in the longest duration.
  if (measuringMs({ initialDelayMs, intervalMs, count }) > MAX_DURATION_MS) {
    throw new AnalysisCheckError('count', `${count} measurements ${input.interval ?? ''} apart${input.initialDelay ? ` after ${input.initialDelay}` : ''} take longer than ${MAX_DURATION}`);
  }
  const check: AnalysisCheck = {
    ...ANALYSIS_DEFAULTS,
    name: input.name,
    provider: input.provider,
    query: input.query,
    url: input.url,
    jsonPath: input.jsonPath,
    intervalMs,
    count,
    initialDelayMs,
    successCondition: input.successCondition,
    failureCondition: input.failureCondition,
    thresholdRange: input.thresholdRange,
    failureLimit: input.failureLimit ?? ANALYSIS_DEFAULTS.failureLimit,
    inconclusiveLimit: input.inconclusiveLimit ?? ANALYSIS_DEFAULTS.inconclusiveLimit,
    consecutiveErrorLimit: input.consecutiveErrorLimit ?? ANALYSIS_DEFAULTS.consecutiveErrorLimit,
    onInconclusive: input.onInconclusive ?? ANALYSIS_DEFAULTS.onInconclusive,
  };
  // Undefined fields stay out of workflow input and history.
  return Object.fromEntries(Object.entries(check).filter(([, v]) => v !== undefined)) as unknown as AnalysisCheck;
}
