/**
 * The projection kind: the cost of one catch-up check (the head and the
 * slowest segment of a processor, the Axon preset) on a 1,000,000-event store
 * and a token table of many processors and segments, with the query plans
 * that show index use, and the sandbox projection service's build rate over
 * that store.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { catchUpReader } from '../src/activities/projection/catchUpReader';
import { catchUpQueries } from '../src/domain/projection/source';
import { freePort } from '../src/runtime/freePort';
import { PostgresServer } from '../src/sandbox/postgres';
import { createAxonSchema, GAP_AWARE_TOKEN_TYPE, gapAwareToken, saveToken, seedOrders } from '../src/sandbox/projection/axonStore';
import { ProjectionService } from '../src/sandbox/projection/service';
import { latency, type BenchSection } from './section';

const EVENTS = Number(process.env.BENCH_PROJECTION_EVENTS ?? 1_000_000);
const CHECKS = 1000;
/** The measured processor: a green halfway through its replay. */
const PROCESSOR = 'orders-v2';
const SEGMENTS = 8;
/** The store's other tracking processors (every service and saga on it, releases past and present), each split in 1 to 32 segments. */
const OTHER_PROCESSORS = 150;

/** A token table as a real Axon deployment has it, so the planner's choice for the position query is the one it makes there. */
async function seedTokens(c: Client): Promise<{ processors: number; rows: number }> {
  const rows: { processor: string; segment: number; index: number }[] = [];
  for (let p = 0; p < OTHER_PROCESSORS; p++) {
    const segments = 2 ** (p % 6);
    for (let segment = 0; segment < segments; segment++) rows.push({ processor: `service-${p}-processor`, segment, index: EVENTS - 1 - ((p * 37 + segment) % 500) });
  }
  for (let segment = 0; segment < SEGMENTS; segment++) rows.push({ processor: PROCESSOR, segment, index: EVENTS / 2 + segment });
  for (const r of rows) {
    await saveToken(c, { naming: 'jdbc', tokenStorage: 'bytea' }, { processor: r.processor, segment: r.segment, token: gapAwareToken(r.index, 'xml'), tokenType: GAP_AWARE_TOKEN_TYPE, owner: `node-${r.segment % 3}` });
  }
  return { processors: OTHER_PROCESSORS + 1, rows: rows.length };
}

export const projectionBench: BenchSection = {
  name: 'projection',
  async run() {
    const parent = mkdtempSync(join(tmpdir(), 'cutover-bench-projection-'));
    chmodSync(parent, 0o755);
    const pg = await PostgresServer.start({ dir: join(parent, 'pg') });
    try {
      await pg.ensureDatabase('store');
      await pg.ensureDatabase('green');
      const c = new Client({ connectionString: pg.url('store') });
      await c.connect();
      await createAxonSchema(c, { naming: 'jdbc', tokenStorage: 'bytea' });
      const seeded = Date.now();
      await seedOrders(c, 'jdbc', EVENTS);
      const seedMs = Date.now() - seeded;
      const tokens = await seedTokens(c);
      await c.query('ANALYZE');
      const queries = catchUpQueries({ preset: 'axon', naming: 'jdbc', tokenStorage: 'bytea' });
      const plan = async (sql: string, params: unknown[] = []) =>
        (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${sql}`, params)).rows.map((r) => r['QUERY PLAN']);
      const plans = { head: await plan(queries.head), position: await plan(queries.position, [PROCESSOR]) };
      await c.end();

      const pool = new Pool({ connectionString: pg.url('store'), max: 2 });
      const reader = catchUpReader({ preset: 'axon', naming: 'jdbc' }, { pool: () => pool });
      const times: number[] = [];
      for (let i = 0; i < CHECKS; i++) {
        const t = process.hrtime.bigint();
        await reader.read({ processor: PROCESSOR, release: 'v2' });
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      await pool.end();

      // the 2.x read model built from the whole store; no upgrade names the release (404), so it stays INITIALISING
      const noUpgrade = createServer((_req, res) => res.writeHead(404).end('{}'));
      await new Promise<void>((r) => noUpgrade.listen(0, '127.0.0.1', r));
      const service = new ProjectionService({
        target: 'bench', release: 'green', version: '2.0.0', port: await freePort(), initialPhase: 'INITIALISING',
        eventStoreUrl: pg.url('store'), naming: 'jdbc', processor: 'bench-green', readDbUrl: pg.url('green'),
        api: { url: `http://127.0.0.1:${(noUpgrade.address() as { port: number }).port}`, token: 'none' },
      });
      const began = Date.now();
      await service.start();
      while (service.position < EVENTS) await new Promise((r) => setTimeout(r, 200));
      const buildMs = Date.now() - began;
      await service.stop();
      noUpgrade.close();
      return {
        events: EVENTS,
        seedSeconds: +(seedMs / 1000).toFixed(1),
        tokenTable: { ...tokens, measuredProcessorSegments: SEGMENTS },
        catchUpCheck: latency(times),
        plans,
        buildEventsPerSecond: Math.round(EVENTS / (buildMs / 1000)),
      };
    } finally {
      await pg.stop();
      // the 1,000,000-event store is over a gigabyte
      rmSync(parent, { recursive: true, force: true });
    }
  },
};
