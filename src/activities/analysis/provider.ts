/**
 * Where an analysis measurement comes from. Built in: prometheus and http;
 * a kind's activities may add their own (e.g. Kong's gateway counters)
 * through the registry the worker builds.
 */
import type { AnalysisCheck } from '../../domain/analysis';

export interface MeasureInput {
  target: string;
  check: AnalysisCheck;
  /** {{target}} {{release}} {{blue}} {{green}}, for the templates in the check. */
  vars: Record<string, string>;
  /** Aborted when the activity is cancelled or the measurement's time is up. */
  signal: AbortSignal;
}

/**
 * One measurement: the value, or undefined when there is no data (the
 * check then counts it Inconclusive). Throwing is a provider error, which
 * counts apart from failures and is retried.
 */
export interface AnalysisProvider {
  measure(input: MeasureInput): Promise<number | undefined>;
}

export type AnalysisProviders = Readonly<Record<string, AnalysisProvider>>;

/** Merges the built-in providers and the kinds' ones; a name given twice is a wiring mistake. */
export function providerRegistry(...sources: AnalysisProviders[]): AnalysisProviders {
  const all: Record<string, AnalysisProvider> = {};
  for (const source of sources) {
    for (const [name, provider] of Object.entries(source)) {
      if (all[name]) throw new Error(`analysis provider '${name}' is registered twice`);
      all[name] = provider;
    }
  }
  return all;
}

/** A value as providers read it from JSON or Prometheus: booleans are 1 and 0, null is no data. */
export function numberOf(raw: unknown, what: string): number | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && raw.trim() !== '') {
    // Prometheus writes infinities as +Inf / -Inf.
    const n = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (!Number.isNaN(n) || raw === 'NaN') return n;
  }
  // What the value is, never what it says: a field of an answer may hold anything, and the message reaches the state and the history.
  throw new Error(`${what} is ${kindOf(raw)}, not a number`);
}

function kindOf(raw: unknown): string {
  if (Array.isArray(raw)) return 'an array';
  if (typeof raw === 'string') return raw.trim() === '' ? 'an empty string' : 'a string';
  return typeof raw === 'object' ? 'an object' : `a ${typeof raw}`;
}
