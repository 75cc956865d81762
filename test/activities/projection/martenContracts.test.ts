/**
 * The marten preset against Marten 7 and 8 as their source says they store
 * progress (test/fixtures/contracts/marten/<7|8>/progression.json, derived
 * from JasperFx/marten at v7.33.2 and v8.17.0: Marten is .NET and cannot run
 * here): the DDL and rows loaded into a real PostgreSQL, and cutover's reader
 * must give the head (the HighWaterMark row), each projection's shards, the
 * slowest and the lag Marten's own daemon health check would give.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catchUpReader } from '../../../src/activities/projection/catchUpReader';
import { DEFAULT_CATCH_UP_POLICY, nextProgress } from '../../../src/domain/projection/catchUp';
import { startScratchPostgres, type ScratchPostgres } from '../../support/scratchPostgres';

interface Derived {
  source: string;
  ddl: string[];
  rows: { name: string; last_seq_id: number | null }[];
  head: number;
  eventsAppended: number;
  projections: { processor: string; shards: { shard: string; sequence: number; daemonLag: number }[]; position: number; lag: number }[];
}

const VERSIONS = ['7', '8'];
const derived = (v: string) => JSON.parse(readFileSync(join(__dirname, '../../fixtures/contracts/marten', v, 'progression.json'), 'utf8')) as Derived;

let pg: ScratchPostgres;
const poolFor = (db: string) => pg.poolFor(db);

beforeAll(async () => {
  pg = await startScratchPostgres('marten-contracts');
  for (const v of VERSIONS) {
    const d = derived(v);
    await pg.withDb(`marten_${v}`, async (c) => {
      for (const ddl of d.ddl) await c.query(ddl);
      for (const r of d.rows) await c.query('INSERT INTO mt_event_progression (name, last_seq_id) VALUES ($1, $2)', [r.name, r.last_seq_id]);
      await c.query(`INSERT INTO mt_events (seq_id, id, version, data, type) SELECT i, gen_random_uuid(), 1, '{}', 'order_placed' FROM generate_series(1, $1::bigint) AS i`, [d.eventsAppended]);
    });
  }
}, 60_000);
afterAll(() => pg?.stop());

describe.each(VERSIONS)('Marten %s', (v) => {
  const d = derived(v);

  test.each(d.projections.map((p) => [p.processor, p] as const))('%s: the head, its shards, the slowest and the daemon\'s lag', async (_, p) => {
    const reading = await catchUpReader({ preset: 'marten' }, { pool: poolFor(`marten_${v}`) }).read({ processor: p.processor, release: 'r' });
    expect(reading.head).toBe(d.head);
    expect(reading.segments).toEqual(p.shards.map((s) => ({ segment: s.shard, position: s.sequence })));
    expect(reading.position).toBe(p.position);
    const lag = nextProgress(undefined, { at: 0, ...reading }, DEFAULT_CATCH_UP_POLICY).lag;
    // the daemon's health check reports each shard's lag; the processor is as far behind as its slowest shard
    expect(lag).toBe(Math.max(...p.shards.map((s) => s.daemonLag)));
    expect(lag).toBe(p.lag);
  });

  test('head maxSeqId: the newest event, ahead of the HighWaterMark', async () => {
    const reading = await catchUpReader({ preset: 'marten', head: 'maxSeqId' }, { pool: poolFor(`marten_${v}`) }).read({ processor: 'Orders', release: 'r' });
    expect(reading.head).toBe(d.eventsAppended);
  });
});

test("a row of another shape names Marten, the field and what it found", async () => {
  await pg.withDb('marten_odd', async (c) => {
    await c.query('CREATE TABLE mt_events (seq_id bigint PRIMARY KEY)');
    // a progression table whose last_seq_id is numeric: not what Marten creates
    await c.query('CREATE TABLE mt_event_progression (name varchar PRIMARY KEY, last_seq_id numeric)');
    await c.query("INSERT INTO mt_event_progression VALUES ('HighWaterMark', 10), ('Orders:All', 7.5)");
  });
  await expect(catchUpReader({ preset: 'marten' }, { pool: poolFor('marten_odd') }).read({ processor: 'Orders', release: 'r' })).rejects.toThrow(
    'Marten 7/8: an mt_event_progression row of Orders: field position: expected a bigint or null, found "7.5"',
  );
});
