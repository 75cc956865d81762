/**
 * Counters for analysis from Kong's Prometheus metrics (pure): requests and
 * 5xx from kong_http_requests_total, latency from kong_request_latency_ms,
 * summed over a release's nodes, and the error rate and p99 of the requests
 * between two readings (or since the nodes started). The plugin writes a
 * metric only once it has a sample (kong/plugins/prometheus/prometheus.lua,
 * metric_data), and these two only when its config enables them
 * (status_code_metrics, latency_metrics; kong/plugins/prometheus/handler.lua):
 * whether a node exported each is kept, so that an absent metric is told
 * from a count of 0.
 */
import { kongAnswer, metricLabels } from './answers';

export interface KongCounters {
  requests: number;
  errors: number;
  /** Cumulative latency histogram buckets by upper bound (ms), +Inf included. */
  buckets: Record<string, number>;
  /** Whether any node exported kong_http_requests_total and kong_request_latency_ms at all. */
  exported: { requests: boolean; latency: boolean };
}

export const EMPTY_COUNTERS: KongCounters = { requests: 0, errors: 0, buckets: {}, exported: { requests: false, latency: false } };

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;

function labels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (text ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2];
  return out;
}

/**
 * One node's counters from its /metrics text, and the version its
 * kong_node_info names; with that version known, every requests and latency
 * sample's labels must be the ones that version writes (KongAnswerError).
 */
export function parseKongMetrics(text: string): KongCounters & { version?: string } {
  const c: KongCounters & { version?: string } = { requests: 0, errors: 0, buckets: {}, exported: { requests: false, latency: false } };
  const samples = text.split('\n').flatMap((line) => {
    const m = SAMPLE.exec(line);
    return m ? [{ name: m[1], labels: labels(m[2]), value: Number(m[3]) }] : [];
  });
  c.version = samples.find((s) => s.name === 'kong_node_info')?.labels.version;
  const schemas = c.version ? metricLabels(c.version) : undefined;
  const check = (schema: keyof ReturnType<typeof metricLabels>, s: (typeof samples)[number]) =>
    schemas && kongAnswer(schemas[schema], s.labels, { answer: `/metrics with ${s.name}{${Object.keys(s.labels).join(',')}}`, version: c.version! });
  for (const s of samples) {
    if (s.name === 'kong_http_requests_total') {
      check('requests', s);
      c.exported.requests = true;
      c.requests += s.value;
      if (s.labels.code?.startsWith('5')) c.errors += s.value;
    } else if (s.name === 'kong_request_latency_ms_bucket') {
      check('latencyBucket', s);
      c.exported.latency = true;
      const le = s.labels.le;
      if (le) c.buckets[le] = (c.buckets[le] ?? 0) + s.value;
    }
  }
  return c;
}

const combine = (a: KongCounters, b: KongCounters, sign: 1 | -1): KongCounters => {
  const buckets = { ...a.buckets };
  for (const [le, n] of Object.entries(b.buckets)) buckets[le] = (buckets[le] ?? 0) + sign * n;
  // A delta keeps what the later reading exported.
  const exported = sign === 1 ? { requests: a.exported.requests || b.exported.requests, latency: a.exported.latency || b.exported.latency } : a.exported;
  return { requests: a.requests + sign * b.requests, errors: a.errors + sign * b.errors, buckets, exported };
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
