/**
 * A client that queries a service's read model continuously, for the
 * projection demo: each answer is checked (status 200, JSON naming the release
 * that answered and the customer asked for); answers and failures are counted
 * by the release that gave them ("none" when nothing answered).
 */
import { get as httpGet } from 'node:http';

export interface QueryCounts {
  queries: number;
  failed: number;
  /** Per answering release: queries answered correctly and failed. */
  byRelease: Record<string, { answered: number; failed: number }>;
  /** The first few failures, as a person would want to see them. */
  firstFailures: { at: number; release: string; reason: string }[];
}

export interface QueryLoad {
  counts(): QueryCounts;
  stop(): Promise<QueryCounts>;
}

/** One query on a connection of its own: nginx's graceful reload closes idle keep-alive connections, a race no client can win. */
function getJson(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
  });
}

/** `rate` queries per second over `workers` sequential loops, each asking for a random customer among `customers`. */
export function startQueryLoad(o: { url: string; rate: number; workers?: number; customers?: number }): QueryLoad {
  const workers = o.workers ?? 2;
  const periodMs = (1000 * workers) / o.rate;
  const c: QueryCounts = { queries: 0, failed: 0, byRelease: {}, firstFailures: [] };
  let stopped = false;
  const record = (release: string, reason?: string): void => {
    c.queries += 1;
    const r = (c.byRelease[release] ??= { answered: 0, failed: 0 });
    if (reason === undefined) r.answered += 1;
    else {
      r.failed += 1;
      c.failed += 1;
      if (c.firstFailures.length < 20) c.firstFailures.push({ at: Date.now(), release, reason });
    }
  };
  const ask = async (): Promise<void> => {
    const id = `c${Math.floor(Math.random() * (o.customers ?? 1000))}`;
    try {
      const { status, text } = await getJson(`${o.url.replace(/\/+$/, '')}/customers/${id}`);
      let body: { release?: string; customer?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return record('none', `status ${status}, not JSON: ${text.slice(0, 80)}`);
      }
      const release = body.release ?? 'none';
      if (status !== 200) return record(release, `status ${status}: ${text.slice(0, 120)}`);
      if (body.customer !== id) return record(release, `asked for ${id}, got ${text.slice(0, 120)}`);
      record(release);
    } catch (err) {
      record('none', (err as Error).message);
    }
  };
  const loops = Array.from({ length: workers }, async () => {
    while (!stopped) {
      const began = Date.now();
      await ask();
      await new Promise((r) => setTimeout(r, Math.max(0, periodMs - (Date.now() - began))));
    }
  });
  const snapshot = (): QueryCounts => structuredClone(c);
  return {
    counts: snapshot,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return snapshot();
    },
  };
}
