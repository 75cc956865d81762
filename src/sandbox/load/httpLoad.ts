/**
 * A steady HTTP load with keep-alive connections (autocannon), for the Kong
 * demo and tests: runs until stopped, counts answers by status and the
 * requests that failed (a connection error, a timeout or a status >= 500).
 */
import autocannon from 'autocannon';

export interface HttpLoadSummary {
  requests: number;
  /** Status >= 500 or no answer at all. */
  failed: number;
  byStatus: Record<string, number>;
  errors: number;
  latencyP99Ms: number;
  durationSec: number;
  requestsPerSec: number;
}

export interface HttpLoad {
  /** Requests so far, and those that failed. */
  counts(): { requests: number; failed: number };
  stop(): Promise<HttpLoadSummary>;
}

export function startHttpLoad(o: { url: string; rate: number; connections?: number; timeoutSec?: number }): HttpLoad {
  const byStatus: Record<string, number> = {};
  let requests = 0;
  let failed = 0;
  let errors = 0;
  let finish: (r: autocannon.Result) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve) => (finish = resolve));
  const instance = autocannon(
    { url: o.url, connections: o.connections ?? 10, overallRate: o.rate, duration: 24 * 3600, timeout: o.timeoutSec ?? 10 },
    (_err, result) => finish(result),
  );
  instance.on('response', (_client: unknown, status: number) => {
    requests += 1;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (status >= 500) failed += 1;
  });
  instance.on('reqError', () => {
    requests += 1;
    errors += 1;
    failed += 1;
  });
  return {
    counts: () => ({ requests, failed }),
    async stop() {
      instance.stop();
      const r = await done;
      return { requests, failed, byStatus, errors, latencyP99Ms: r.latency.p99, durationSec: r.duration, requestsPerSec: requests / Math.max(r.duration, 1e-9) };
    },
  };
}
