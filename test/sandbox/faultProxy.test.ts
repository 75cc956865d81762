/**
 * The chaos harness's proxies: the shares of failed, reset and delayed calls
 * follow the faults asked for, a reset before forwarding never reaches the
 * upstream and one after it does (its caller never learns), a seed repeats a
 * run's faults, and PostgreSQL through the TCP proxy fails, resets or serves.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { FaultInjector } from '../../src/sandbox/faultProxy';
import { PostgresServer } from '../../src/sandbox/postgres';
import { clusterDir } from '../support/emqxSandbox';

let upstream: Server;
let seen: string[] = [];
let base = '';
const proxies: FaultInjector[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: req.url }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  seen = [];
});
afterAll(() => new Promise((r) => upstream.close(r)));

function injector(...args: ConstructorParameters<typeof FaultInjector>): FaultInjector {
  const p = new FaultInjector(...args);
  proxies.push(p);
  return p;
}

type Outcome = { status: number; body: string } | { error: string };
async function get(url: string): Promise<Outcome> {
  try {
    const res = await fetch(url, { method: 'POST', body: 'x' });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { error: (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message };
  }
}

test('30% answered 503, 5% reset, the rest delayed and answered by the upstream: the shares hold over 400 calls', async () => {
  const p = injector({ fail: 0.3, reset: 0.05, maxDelayMs: 5 }, 42);
  const url = await p.http(base);
  const outcomes: Outcome[] = [];
  for (let i = 0; i < 400; i++) outcomes.push(await get(`${url}/call/${i}`));
  const c = p.counts;
  expect(c.calls).toBe(400);
  expect(c.failed / 400).toBeGreaterThan(0.25);
  expect(c.failed / 400).toBeLessThan(0.35);
  expect((c.resetBefore + c.resetAfter) / 400).toBeGreaterThan(0.02);
  expect((c.resetBefore + c.resetAfter) / 400).toBeLessThan(0.08);
  // what the callers saw
  const failed = outcomes.filter((o) => 'status' in o && o.status === 503);
  expect(failed).toHaveLength(c.failed);
  expect((failed[0] as { body: string }).body).toContain('<center>nginx</center>');
  expect(outcomes.filter((o) => 'error' in o)).toHaveLength(c.resetBefore + c.resetAfter);
  expect(outcomes.filter((o) => 'status' in o && o.status === 200)).toHaveLength(c.delayed);
  // what the upstream saw: every delayed call, and the reset ones whose answer was lost, never a failed one
  expect(seen).toHaveLength(c.delayed + c.resetAfter);
  expect(p.forwarded.filter((f) => f.lost)).toHaveLength(c.resetAfter);
  expect(p.forwarded.every((f) => f.status === 200 && f.method === 'POST' && f.body === 'x')).toBe(true);
});

test('the same seed gives the same faults in the same order', async () => {
  const run = async (seed: number): Promise<string> => {
    const p = injector({ fail: 0.3, reset: 0.05, maxDelayMs: 0 }, seed);
    const url = await p.http(base);
    const out: string[] = [];
    for (let i = 0; i < 40; i++) {
      const o = await get(`${url}/${i}`);
      out.push('status' in o ? String(o.status) : 'reset');
    }
    return out.join(',');
  };
  const first = await run(7);
  expect(await run(7)).toBe(first);
  expect(await run(8)).not.toBe(first);
});

test('an upstream that refuses connections is answered 502, as a balancer does', async () => {
  const p = injector({ fail: 0, reset: 0, maxDelayMs: 0 }, 1);
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as AddressInfo).port;
  await new Promise((r) => dead.close(r));
  const url = await p.http(`http://127.0.0.1:${port}`);
  expect(await get(`${url}/x`)).toMatchObject({ status: 502 });
});

test('PostgreSQL through the TCP proxy: failed connections are closed at once, reset ones cut, the others serve', async () => {
  const pg = await PostgresServer.start({ dir: clusterDir('fault-proxy-pg') });
  try {
    const p = injector({ fail: 0.3, reset: 0.05, maxDelayMs: 20 }, 3);
    const port = await p.tcp(pg.port);
    const url = pg.url().replace(`:${pg.port}/`, `:${port}/`);
    let answered = 0;
    const errors = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const c = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      // a reset between queries reaches pg as an 'error' event, not as a rejected query
      c.on('error', (err) => errors.add(err.message));
      try {
        await c.connect();
        const { rows } = await c.query<{ n: number }>('SELECT $1::int AS n', [i]);
        if (rows[0].n === i) answered++;
      } catch (err) {
        errors.add((err as Error).message);
      } finally {
        await c.end().catch(() => undefined);
      }
    }
    expect(p.counts.calls).toBe(60);
    expect(answered).toBeGreaterThanOrEqual(p.counts.delayed);
    expect(answered).toBeLessThanOrEqual(p.counts.delayed + p.counts.resetBefore + p.counts.resetAfter);
    expect(60 - answered).toBeGreaterThanOrEqual(p.counts.failed);
    expect([...errors].join('; ')).toMatch(/Connection terminated|ECONNRESET|closed/);
  } finally {
    await pg.stop();
  }
}, 60_000);
