/**
 * The sandbox projection service on a real PostgreSQL, its phase set through
 * a phase endpoint the test controls (the long poll's own behaviour is tested
 * against the real API): builds while INITIALISING and reports ready, answers
 * only while SERVING, keeps building while STANDING_BY, drops its tables in
 * CLEANING_UP; 1.x and 2.x build different read models from the same events.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { catchUpReader } from '../../../src/activities/projection/catchUpReader';
import type { Phase } from '../../../src/domain/phases';
import { freePort } from '../../../src/runtime/freePort';
import { PostgresServer } from '../../../src/sandbox/postgres';
import { createAxonSchema, seedOrders } from '../../../src/sandbox/projection/axonStore';
import { Producer } from '../../../src/sandbox/projection/producer';
import { ProjectionService } from '../../../src/sandbox/projection/service';
import { eventually } from '../../support/temporal';

let pg: PostgresServer;
let api: Server;
let apiUrl: string;
const phases = new Map<string, Phase>();
const readyReports: { release: string; body: unknown }[] = [];

beforeAll(async () => {
  const parent = mkdtempSync(join(tmpdir(), 'cutover-projsvc-'));
  chmodSync(parent, 0o755);
  pg = await PostgresServer.start({ dir: join(parent, 'pg') });
  for (const db of ['store', 'v1', 'v2']) await pg.ensureDatabase(db);
  const c = new Client({ connectionString: pg.url('store') });
  await c.connect();
  await createAxonSchema(c, { naming: 'jdbc', tokenStorage: 'bytea' });
  await seedOrders(c, 'jdbc', 50_000);
  await c.end();
  // answers a phase at once when it differs from the one the service knows, else after a short wait
  api = createServer((req, res) => {
    const m = /releases\/([^/]+)\/(phase|ready)(?:\?.*phase=(\w+))?/.exec(req.url ?? '')!;
    if (m[2] === 'ready') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        readyReports.push({ release: m[1], body: JSON.parse(body) });
        res.end('{}');
      });
      return;
    }
    const answer = () => res.end(JSON.stringify({ phase: phases.get(m[1]) }));
    if (phases.get(m[1]) !== m[3]) return answer();
    setTimeout(answer, 100);
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
}, 120_000);
afterAll(async () => {
  await new Promise((r) => api?.close(r));
  await pg?.stop();
});

async function service(release: string, version: string, initialPhase: Phase, extra: { stallAt?: number } = {}) {
  phases.set(release, initialPhase);
  const port = await freePort();
  const s = new ProjectionService({
    target: 'orders-view', release, version, port, initialPhase,
    eventStoreUrl: pg.url('store'), naming: 'jdbc', processor: `orders-view-${release}`, readDbUrl: pg.url(release),
    api: { url: apiUrl, token: 'service-token' }, ...extra,
  });
  await s.start();
  const query = async (id: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/customers/${id}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** The value of one series of its Prometheus metrics, as the sandbox's Prometheus scrapes them (0 while absent). */
  const metric = async (series: string) => {
    const line = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  return { s, query, metric };
}

test('a release builds, reports ready, serves, stands by while still building, and drops its tables', async () => {
  const producer = new Producer({ url: pg.url('store'), naming: 'jdbc', rate: 200 });
  producer.start();
  const blue = await service('v1', '1.4.0', 'SERVING');
  const green = await service('v2', '2.0.0', 'INITIALISING');
  try {
    const began = Date.now();
    // green builds but does not answer; it reports ready once caught up and self-tested
    expect((await green.query('c1')).status).toBe(503);
    await eventually(async () => readyReports.some((r) => r.release === 'v2'), 60_000);
    const buildRate = green.s.position / ((Date.now() - began) / 1000);
    console.log(`sandbox projection build rate: ${Math.round(buildRate)} events/s (v2 read model, 2 cores shared)`);
    expect(readyReports.find((r) => r.release === 'v2')!.body).toMatchObject({ ready: true, detail: expect.stringContaining('self-test answered customer c1') });

    // the Axon preset reads green's token like any Axon processor's
    const pool = new Pool({ connectionString: pg.url('store'), max: 1 });
    const reading = await catchUpReader({ preset: 'axon', naming: 'jdbc' }, { pool: () => pool }).read({ processor: 'orders-view-v2', release: 'v2' });
    await pool.end();
    expect(reading.position).toBeGreaterThan(50_000 - 1);

    // the switch: green answers with its own read model, blue stands by but keeps building
    phases.set('v2', 'SERVING');
    phases.set('v1', 'STANDING_BY');
    await eventually(async () => (await green.query('c1')).status === 200);
    expect((await green.query('c1')).body).toMatchObject({ release: 'v2', customer: 'c1', items: expect.any(Number) });
    // its /metrics (scraped by npm start's Prometheus): the refused and the answered queries, the events it handled
    expect(await green.metric('projection_queries_total{release="v2",status="503"}')).toBeGreaterThanOrEqual(1);
    expect(await green.metric('projection_queries_total{release="v2",status="200"}')).toBeGreaterThanOrEqual(2);
    expect(await green.metric('projection_events_handled_total{release="v2"}')).toBeGreaterThanOrEqual(50_000);
    expect(await green.metric('projection_lag_events{release="v2"}')).toBeLessThan(1000);
    await eventually(async () => (await blue.query('c1')).status === 503);
    const blueAt = blue.s.position;
    await eventually(async () => blue.s.position > blueAt + 50);

    // rollback: blue answers again, current (v1 read model: no items)
    phases.set('v1', 'SERVING');
    phases.set('v2', 'CLEANING_UP');
    await eventually(async () => (await blue.query('c1')).status === 200);
    expect((await blue.query('c1')).body).not.toHaveProperty('items');
    await eventually(async () => {
      const c = new Client({ connectionString: pg.url('v2') });
      await c.connect();
      const { rowCount } = await c.query("SELECT 1 FROM pg_tables WHERE tablename = 'customer_totals'");
      await c.end();
      return rowCount === 0;
    });
  } finally {
    await producer.stop();
    await green.s.stop();
    await blue.s.stop();
  }
}, 120_000);

test('a release told to stall stops at its position and never reports ready', async () => {
  await pg.ensureDatabase('v3');
  const stuck = await service('v3', '2.1.0', 'INITIALISING', { stallAt: 5000 });
  try {
    await eventually(async () => stuck.s.position === 5000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(stuck.s.position).toBe(5000);
    expect(readyReports.some((r) => r.release === 'v3')).toBe(false);
  } finally {
    await stuck.s.stop();
  }
}, 60_000);
