/**
 * A steady HTTP load on keep-alive connections (undici's Pool), for the Kong
 * demo and tests: GET requests sent at a fixed rate whatever the answers (a
 * slow moment shows as latency, never as fewer requests), until stopped. A
 * request fails on a status >= 500, a timeout or a connection error.
 *
 * As standard HTTP clients do (RFC 9112 9.3.1), a GET whose connection was
 * closed before any byte of its answer arrived is sent once more, on a new
 * connection of its own: a server may close its idle keep-alive connections
 * just as a request crosses one, all of them at once (nginx does at every
 * reload, which the sandbox does at every weight change). Those retries are
 * counted apart, with the reason; a retry that fails too is a failed request.
 */
import { Client, Pool } from 'undici';

export interface HttpLoadSummary {
  /** Requests sent (a retried one counts once). */
  requests: number;
  /** Status >= 500 or no answer at all. */
  failed: number;
  byStatus: Record<string, number>;
  /** Answers and failed ones by their Via header (the gateway that answered, e.g. "1.1 kong/3.9.0"; "-" without one). */
  byVia: Record<string, { answers: number; failed: number }>;
  /** Requests that got no answer, by error code. */
  errors: Record<string, number>;
  /** Requests sent a second time because their connection closed before any answer, by error code. */
  retried: Record<string, number>;
  /** When each retry and each failure happened (seconds since the load began), to set against the steps. */
  events: { t: number; what: 'retried' | 'failed'; reason: string }[];
  /** From the moment a request was due, so waiting for a free connection counts. */
  latencyP99Ms: number;
  durationSec: number;
  requestsPerSec: number;
}

export interface HttpLoad {
  /** Requests so far, those that failed and those retried. */
  counts(): { requests: number; failed: number; retried: number };
  stop(): Promise<HttpLoadSummary>;
}

/** A connection the server closed or reset before the answer began: nothing of this request was answered. */
const CLOSED_BEFORE_ANSWER = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

export function startHttpLoad(o: { url: string; rate: number; connections?: number; timeoutSec?: number }): HttpLoad {
  const url = new URL(o.url);
  const timeout = (o.timeoutSec ?? 10) * 1000;
  const timeouts = { headersTimeout: timeout, bodyTimeout: timeout };
  const pool = new Pool(url.origin, { connections: o.connections ?? 10, pipelining: 1, ...timeouts });
  const s: HttpLoadSummary = { requests: 0, failed: 0, byStatus: {}, byVia: {}, errors: {}, retried: {}, events: [], latencyP99Ms: 0, durationSec: 0, requestsPerSec: 0 };
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const begin = Date.now();
  const since = (): number => (Date.now() - begin) / 1000;
  const count = (m: Record<string, number>, key: string) => (m[key] = (m[key] ?? 0) + 1);

  async function send(due: number, retry = false): Promise<void> {
    const dispatcher = retry ? new Client(url.origin, timeouts) : pool;
    try {
      const r = await dispatcher.request({ method: 'GET', path: `${url.pathname}${url.search}` });
      await r.body.dump();
      count(s.byStatus, String(r.statusCode));
      const via = String(r.headers.via ?? '-');
      const by = (s.byVia[via] ??= { answers: 0, failed: 0 });
      by.answers += 1;
      if (r.statusCode >= 500) {
        s.failed += 1;
        by.failed += 1;
        s.events.push({ t: since(), what: 'failed', reason: `${r.statusCode} via ${via}` });
      }
      latencies.push(Math.round(Date.now() - due));
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as Error).message;
      if (!retry && CLOSED_BEFORE_ANSWER.has(code)) {
        count(s.retried, code);
        s.events.push({ t: since(), what: 'retried', reason: code });
        return send(due, true);
      }
      count(s.errors, code);
      s.failed += 1;
      s.events.push({ t: since(), what: 'failed', reason: code });
    } finally {
      if (retry) await dispatcher.close();
    }
  }

  // Every 10 ms, the requests due by now: a steady rate without a burst per second.
  const ticker = setInterval(() => {
    const due = Math.floor(since() * o.rate);
    for (; s.requests < due; s.requests++) {
      const p = send(begin + (s.requests * 1000) / o.rate);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  }, 10);
  return {
    counts: () => ({ requests: s.requests, failed: s.failed, retried: Object.values(s.retried).reduce((a, b) => a + b, 0) }),
    async stop() {
      clearInterval(ticker);
      const durationSec = since();
      await Promise.all(inFlight);
      await pool.close();
      latencies.sort((a, b) => a - b);
      const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
      return { ...s, latencyP99Ms: p99, durationSec, requestsPerSec: s.requests / durationSec };
    },
  };
}
