/**
 * Counters for analysis from Kong's Prometheus metrics (pure): requests and
 * 5xx from kong_http_requests_total, latency from kong_request_latency_ms,
 * summed over a release's nodes, and the error rate and p99 of the requests
 * between two readings (or since the nodes started).
 */

export interface KongCounters {
  requests: number;
  errors: number;
  /** Cumulative latency histogram buckets by upper bound (ms), +Inf included. */
  buckets: Record<string, number>;
}

export const EMPTY_COUNTERS: KongCounters = { requests: 0, errors: 0, buckets: {} };

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;

function labels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (text ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2];
  return out;
}

/** One node's counters from its /metrics text. */
export function parseKongMetrics(text: string): KongCounters {
  const c: KongCounters = { requests: 0, errors: 0, buckets: {} };
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (m[1] === 'kong_http_requests_total') {
      c.requests += value;
      if (labels(m[2]).code?.startsWith('5')) c.errors += value;
    } else if (m[1] === 'kong_request_latency_ms_bucket') {
      const le = labels(m[2]).le;
      if (le) c.buckets[le] = (c.buckets[le] ?? 0) + value;
    }
  }
  return c;
}

const combine = (a: KongCounters, b: KongCounters, sign: 1 | -1): KongCounters => {
  const buckets = { ...a.buckets };
  for (const [le, n] of Object.entries(b.buckets)) buckets[le] = (buckets[le] ?? 0) + sign * n;
  return { requests: a.requests + sign * b.requests, errors: a.errors + sign * b.errors, buckets };
};

export const sumCounters = (all: KongCounters[]): KongCounters => all.reduce((s, c) => combine(s, c, 1), EMPTY_COUNTERS);
export const counterDelta = (now: KongCounters, before: KongCounters): KongCounters => combine(now, before, -1);

/** Share of 5xx answers; undefined without requests (no data: inconclusive, never a success). */
export const errorRate = (c: KongCounters): number | undefined => (c.requests > 0 ? c.errors / c.requests : undefined);

/** The q-quantile in ms, interpolated within its bucket as PromQL's histogram_quantile does; undefined without requests. */
export function latencyQuantile(c: KongCounters, q: number): number | undefined {
  const bounds = Object.entries(c.buckets)
    .map(([le, n]) => [le === '+Inf' ? Infinity : Number(le), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = bounds.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let [prevBound, prevCount] = [0, 0];
  for (const [bound, count] of bounds) {
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / Math.max(count - prevCount, 1e-9);
    }
    [prevBound, prevCount] = [bound, count];
  }
  return prevBound;
}

/** A kong provider query: `error-rate@<release>`, `latency-p99@<release>` or `requests@<release>`, optionally with a window `[5s]`. */
export interface KongQuery {
  measure: 'error-rate' | 'latency-p99' | 'requests';
  release: string;
  windowMs?: number;
}

export function parseKongQuery(text: string): KongQuery {
  const m = /^\s*(error-rate|latency-p99|requests)@([a-z0-9][-a-z0-9]*)\s*(?:\[(\d+)(ms|s)\])?\s*$/.exec(text);
  if (!m) throw new Error(`kong query '${text}' must be error-rate@<release>, latency-p99@<release> or requests@<release>, optionally with a window such as [5s]`);
  return { measure: m[1] as KongQuery['measure'], release: m[2], windowMs: m[3] ? Number(m[3]) * (m[4] === 's' ? 1000 : 1) : undefined };
}

export function measureOf(q: KongQuery, c: KongCounters): number | undefined {
  if (q.measure === 'requests') return c.requests;
  return q.measure === 'error-rate' ? errorRate(c) : latencyQuantile(c, 0.99);
}
