/**
 * The catch-up reader on a real PostgreSQL: Axon-shaped stores in both
 * namings with bytea and large-object tokens, XML and JSON, several segments
 * of every token type and the __config row; Marten's progression table; the
 * user's own SQL; a service answering over HTTP.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { withClient } from '../../src/activities/pg';
import { catchUpReader } from '../../src/activities/projection/catchUpReader';
import { NO_POSITION } from '../../src/domain/projection/axonTokens';
import type { CatchUpSource } from '../../src/domain/projection/source';
import { PostgresServer } from '../../src/sandbox/postgres';
import { appendEvents, createAxonSchema, saveToken, type AxonLayout } from '../../src/sandbox/projection/axonStore';
import { CONFIG_TOKEN, TOKEN_TYPES, token, type Format, type Shape } from './axonTokenShapes';

let pg: PostgresServer;
const pools: Pool[] = [];
const poolFor = (db: string) => {
  const pool = new Pool({ connectionString: pg.url(db), max: 2 });
  pools.push(pool);
  return () => pool;
};

/** A database of the test's server (created if absent), for one piece of work. */
async function withDb<T>(db: string, fn: (c: Client) => Promise<T>): Promise<T> {
  await pg.ensureDatabase(db);
  return withClient(pg.url(db), fn);
}

beforeAll(async () => {
  const parent = mkdtempSync(join(tmpdir(), 'cutover-catchup-'));
  chmodSync(parent, 0o755);
  pg = await PostgresServer.start({ dir: join(parent, 'pg') });
}, 60_000);
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await pg?.stop();
});

const events = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ({ aggregate: `order-${(from + i) % 50}`, seq: Math.floor((from + i) / 50), type: 'OrderPlaced', payload: { i: from + i } }));

// four segments of green's processor, each a different token type; the slowest is the multi-source token at 600
const SEGMENTS: [Shape, number][] = [
  ['globalSequence', 900],
  ['gapAware', 850],
  ['replay', 700],
  ['merged', 650],
  ['multiSource', 600],
];

const layouts: (AxonLayout & { format: Format })[] = [
  { naming: 'jdbc', tokenStorage: 'bytea', format: 'xml' },
  { naming: 'jdbc', tokenStorage: 'bytea', format: 'json' },
  { naming: 'jpa', tokenStorage: 'largeObject', format: 'xml' },
  { naming: 'jpa', tokenStorage: 'largeObject', format: 'json' },
  { naming: 'jpa', tokenStorage: 'bytea', format: 'json' },
];

test.each(layouts)('Axon $naming naming, $tokenStorage tokens as $format: the head and the slowest of five segments', async (layout) => {
  const db = `axon_${layout.naming}_${layout.tokenStorage}_${layout.format}`.toLowerCase();
  await withDb(db, async (c) => {
    await createAxonSchema(c, layout);
    expect(await appendEvents(c, layout.naming, events(1000))).toBe(1000);
    for (const [segment, [shape, n]] of SEGMENTS.entries()) {
      await saveToken(c, layout, { processor: 'orders-v2', segment, token: token(shape, layout.format, n), tokenType: TOKEN_TYPES[shape] });
    }
    await saveToken(c, layout, { processor: '__config', segment: 0, token: CONFIG_TOKEN.xml, tokenType: CONFIG_TOKEN.type });
    await saveToken(c, layout, { processor: 'orders-v1', segment: 0, token: token('globalSequence', layout.format, 1000), tokenType: TOKEN_TYPES.globalSequence });
    await saveToken(c, layout, { processor: 'orders-v3', segment: 0, token: token('replayNotStarted', layout.format, 0), tokenType: TOKEN_TYPES.replay });
    await saveToken(c, layout, { processor: 'orders-v3', segment: 1, token: null, tokenType: null });
  });
  const reader = catchUpReader({ preset: 'axon', naming: layout.naming, tokenStorage: layout.tokenStorage }, { pool: poolFor(db) });
  const green = await reader.read({ processor: 'orders-v2', release: 'v2' });
  expect(green).toEqual({ head: 1000, position: 600, segments: SEGMENTS.map(([, n], i) => ({ segment: String(i), position: n })) });
  expect(await reader.read({ processor: 'orders-v1', release: 'v1' })).toMatchObject({ head: 1000, position: 1000 });
  // a replay that has not started and a segment without a token: nothing processed yet
  expect(await reader.read({ processor: 'orders-v3', release: 'v3' })).toMatchObject({ position: NO_POSITION });
  // the __config row is no processor, and an unknown processor has no position
  expect(await reader.read({ processor: '__config', release: 'x' })).toMatchObject({ position: NO_POSITION, segments: [] });

  // the slowest segment moves on: now the replay's segment is the slowest
  await withDb(db, (c) => saveToken(c, layout, { processor: 'orders-v2', segment: 4, token: token('multiSource', layout.format, 990), tokenType: TOKEN_TYPES.multiSource }));
  expect((await reader.read({ processor: 'orders-v2', release: 'v2' })).position).toBe(650);
});

test('Axon: an empty event store has no head yet', async () => {
  const layout: AxonLayout = { naming: 'jpa', tokenStorage: 'bytea' };
  await withDb('axon_empty', (c) => createAxonSchema(c, layout));
  expect(await catchUpReader({ preset: 'axon', naming: 'jpa' }, { pool: poolFor('axon_empty') }).read({ processor: 'p', release: 'r' })).toEqual({
    head: NO_POSITION,
    position: NO_POSITION,
    segments: [],
  });
});

describe('Marten', () => {
  beforeAll(() =>
    withDb('marten', async (c) => {
      await c.query('CREATE TABLE mt_events (seq_id BIGSERIAL PRIMARY KEY, id UUID NOT NULL, stream_id UUID, version BIGINT NOT NULL, data JSONB NOT NULL, type VARCHAR(500) NOT NULL)');
      await c.query('CREATE TABLE mt_event_progression (name VARCHAR PRIMARY KEY, last_seq_id BIGINT, last_updated TIMESTAMPTZ DEFAULT now())');
      await c.query(`INSERT INTO mt_events (id, stream_id, version, data, type) SELECT gen_random_uuid(), gen_random_uuid(), 1, '{}', 'order_placed' FROM generate_series(1, 500)`);
      await c.query(`INSERT INTO mt_event_progression (name, last_seq_id) VALUES ('HighWaterMark', 480), ('Orders:All', 300), ('Orders:tenant-b', 250), ('OrdersV2:All', 20)`);
    }),
  );

  test('the head from the HighWaterMark row or the highest seq_id; the slowest shard of the projection', async () => {
    const pool = poolFor('marten');
    expect(await catchUpReader({ preset: 'marten' }, { pool }).read({ processor: 'Orders', release: 'v1' })).toEqual({
      head: 480,
      position: 250,
      segments: [
        { segment: 'Orders:All', position: 300 },
        { segment: 'Orders:tenant-b', position: 250 },
      ],
    });
    expect(await catchUpReader({ preset: 'marten', head: 'maxSeqId' }, { pool }).read({ processor: 'OrdersV2', release: 'v2' })).toMatchObject({ head: 500, position: 20 });
  });
});

test("the user's own SQL: head and per-segment positions", async () => {
  await withDb('custom', async (c) => {
    await c.query('CREATE TABLE events (pos BIGINT PRIMARY KEY)');
    await c.query('CREATE TABLE checkpoints (consumer TEXT, part INT, pos BIGINT, PRIMARY KEY (consumer, part))');
    await c.query('INSERT INTO events SELECT generate_series(1, 77)');
    await c.query(`INSERT INTO checkpoints VALUES ('reports', 0, 70), ('reports', 1, 64)`);
  });
  const source: CatchUpSource = { preset: 'sql', headQuery: 'SELECT max(pos) FROM events', positionQuery: 'SELECT pos FROM checkpoints WHERE consumer = $1' };
  expect(await catchUpReader(source, { pool: poolFor('custom') }).read({ processor: 'reports', release: 'v2' })).toMatchObject({ head: 77, position: 64 });
});

describe('HTTP', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/catch-up/orders-v2/v2') res.end(JSON.stringify({ position: 123, head: 456 }));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  test('the service reports {position, head}; an error status is an error', async () => {
    const reader = catchUpReader({ preset: 'http', url: `${base}/catch-up/{processor}/{release}` }, {});
    expect(await reader.read({ processor: 'orders-v2', release: 'v2' })).toMatchObject({ head: 456, position: 123 });
    await expect(reader.read({ processor: 'x', release: 'v2' })).rejects.toThrow(/HTTP 404/);
  });
});
