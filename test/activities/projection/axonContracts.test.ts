/**
 * The axon preset against what a real Axon Framework 4.13 application wrote
 * (test/fixtures/contracts/axon/4.13/<case>/, recorded by
 * scripts/record-axon-contracts.sh from tools/axon-recorder): each case's
 * pg_dump loaded into a real PostgreSQL, and cutover's reader must give the
 * head, every segment's position, the slowest one and the lag that Axon's own
 * API reported for each processor (axon.json). No Java needed. The sandbox's
 * Axon-shaped store (src/sandbox/projection/axonStore.ts) is held to the same
 * tables.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catchUpReader } from '../../../src/activities/projection/catchUpReader';
import { DEFAULT_CATCH_UP_POLICY, nextProgress } from '../../../src/domain/projection/catchUp';
import type { AxonSource } from '../../../src/domain/projection/source';
import { appendEvents, createAxonSchema, GAP_AWARE_TOKEN_TYPE, gapAwareToken, saveToken } from '../../../src/sandbox/projection/axonStore';
import { startScratchPostgres, type ScratchPostgres } from '../../support/scratchPostgres';

const DIR = join(__dirname, '../../fixtures/contracts/axon/4.13');

interface Recorded {
  source: string;
  axonVersion: string;
  case: string;
  store: Record<string, string>;
  head: { token: string; position: number };
  processors: { name: string; processor: string; scenario: string; running: boolean; position: number; lag: number; segments: { segment: number; tokenType: string | null; position: number }[] }[];
}

const cases = readdirSync(DIR).sort();
const recorded = (name: string) => JSON.parse(readFileSync(join(DIR, name, 'axon.json'), 'utf8')) as Recorded;
const naming = (r: Recorded): AxonSource['naming'] => (r.store.tokenStore === 'JpaTokenStore' ? 'jpa' : 'jdbc');

let pg: ScratchPostgres;
const poolFor = (db: string) => pg.poolFor(db);
const database = (name: string) => `contract_${name.replace(/-/g, '_')}`;

beforeAll(async () => {
  pg = await startScratchPostgres('axon-contracts');
  // each case's dump as pg_dump wrote it: DDL, rows and large objects, in one transaction
  for (const name of cases) await pg.withDb(database(name), (c) => c.query(readFileSync(join(DIR, name, 'dump.sql'), 'utf8')));
}, 120_000);
afterAll(() => pg?.stop());

test('the fixtures cover the support matrix: JDBC and JPA, XStream and Jackson, bytea and oid; tracking, pooled, stopped, replaying, merged, failing', () => {
  const all = cases.map(recorded);
  expect(new Set(all.map((r) => `${r.store.tokenStore} ${r.store.serializer}`))).toEqual(
    new Set(['JdbcTokenStore XStreamSerializer', 'JdbcTokenStore JacksonSerializer', 'JpaTokenStore XStreamSerializer', 'JpaTokenStore JacksonSerializer']),
  );
  const processors = all.flatMap((r) => r.processors);
  expect(new Set(processors.map((p) => p.processor))).toEqual(new Set(['TrackingEventProcessor', 'PooledStreamingEventProcessor']));
  const types = new Set(processors.flatMap((p) => p.segments.map((s) => s.tokenType?.split('.').pop() ?? null)));
  expect(types).toEqual(new Set(['ReplayToken', 'MergedTrackingToken', null]));
  for (const r of all) expect(r.source).toMatch(/cutover\.axonrecorder\.Recorder.*Axon Framework 4\.13\.0/);
});

describe.each(cases)('%s', (name) => {
  const r = recorded(name);

  test.each(r.processors.map((p) => [p.name, p] as const))("%s: the head, each segment, the slowest and the lag as Axon reported them", async (_, p) => {
    // tokenStorage left out: the reader follows the token column's type (bytea, or oid with JPA on Hibernate 6)
    const reader = catchUpReader({ preset: 'axon', naming: naming(r) }, { pool: poolFor(database(name)) });
    const reading = await reader.read({ processor: p.name, release: 'r' });
    expect(reading.head).toBe(r.head.position);
    expect(reading.segments).toEqual(p.segments.map((s) => ({ segment: String(s.segment), position: s.position })));
    expect(reading.position).toBe(p.position);
    expect(nextProgress(undefined, { at: 0, ...reading }, DEFAULT_CATCH_UP_POLICY).lag).toBe(p.lag);
  });

  test('the __config row is no processor', async () => {
    const reader = catchUpReader({ preset: 'axon', naming: naming(r) }, { pool: poolFor(database(name)) });
    expect((await reader.read({ processor: '__config', release: 'r' })).segments).toEqual([]);
  });
});

describe("Spring Boot 3's oid token column", () => {
  const jpa = cases.filter((c) => recorded(c).store.tokenStore === 'JpaTokenStore');

  test.each(jpa)('%s: tokenStorage bytea on the oid column fails naming the setting to change, before any token is read', async (name) => {
    const reader = catchUpReader({ preset: 'axon', naming: 'jpa', tokenStorage: 'bytea' }, { pool: poolFor(database(name)) });
    await expect(reader.read({ processor: 'orders-tracking', release: 'r' })).rejects.toThrow(
      'Axon Framework 4: token_entry.token is oid (a large object: JpaTokenStore\'s @Lob on PostgreSQL, the default with Spring Boot 3), but catchUp.tokenStorage is bytea: set catchUp.tokenStorage to largeObject, or leave it out to follow the column',
    );
  });

  test.each(jpa)('%s: tokenStorage largeObject, as configured, reads the same positions', async (name) => {
    const r = recorded(name);
    const reader = catchUpReader({ preset: 'axon', naming: 'jpa', tokenStorage: 'largeObject' }, { pool: poolFor(database(name)) });
    for (const p of r.processors) expect((await reader.read({ processor: p.name, release: 'r' })).position).toBe(p.position);
  });
});

test('a JDBC store read as largeObject fails naming the setting; a wrong naming names the table it did not find', async () => {
  const jdbc = database('jdbc-xstream');
  await expect(catchUpReader({ preset: 'axon', naming: 'jdbc', tokenStorage: 'largeObject' }, { pool: poolFor(jdbc) }).read({ processor: 'orders-tracking', release: 'r' })).rejects.toThrow(
    'Axon Framework 4: TokenEntry.token is bytea, but catchUp.tokenStorage is largeObject: set catchUp.tokenStorage to bytea, or leave it out to follow the column',
  );
  await expect(catchUpReader({ preset: 'axon', naming: 'jpa' }, { pool: poolFor(jdbc) }).read({ processor: 'orders-tracking', release: 'r' })).rejects.toThrow(
    'Axon Framework 4: the token table token_entry has no column token (or does not exist): check catchUp.naming (jdbc: TokenEntry, jpa: token_entry), catchUp.tokenTable and catchUp.schema',
  );
});

describe("the sandbox's Axon-shaped store writes what Axon writes", () => {
  const columns = (db: string, table: string) =>
    pg.withDb(db, async (c) => (await c.query("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name", [table])).rows);

  test.each([
    ['jdbc-xstream', { naming: 'jdbc', tokenStorage: 'bytea' }, 'tokenentry'],
    ['jpa-jackson-oid', { naming: 'jpa', tokenStorage: 'largeObject' }, 'token_entry'],
  ] as const)('%s: the token table, and a token the reader takes as the recorded one', async (name, layout, table) => {
    const db = `sandbox_${layout.naming}`;
    await pg.withDb(db, (c) => createAxonSchema(c, layout));
    expect(await columns(db, table)).toEqual(await columns(database(name), table));

    const tracking = recorded(name).processors.find((p) => p.name === 'orders-tracking')!;
    await pg.withDb(db, async (c) => {
      await appendEvents(c, layout.naming, [{ aggregate: 'a', seq: 0, type: 'OrderPlaced', payload: {} }]);
      await saveToken(c, layout, { processor: 'p', segment: 0, token: gapAwareToken(tracking.position, 'xml'), tokenType: GAP_AWARE_TOKEN_TYPE });
    });
    expect((await catchUpReader({ preset: 'axon', naming: layout.naming }, { pool: poolFor(db) }).read({ processor: 'p', release: 'r' })).position).toBe(tracking.position);
  });
});
