/**
 * The catch-up reader on a real PostgreSQL with the user's own SQL, and a
 * service answering over HTTP. The Axon and Marten presets are checked against
 * what the real systems store: axonContracts.test.ts and martenContracts.test.ts.
 */
import { createServer, type Server } from 'node:http';
import { catchUpReader } from '../../../src/activities/projection/catchUpReader';
import type { CatchUpSource } from '../../../src/domain/projection/source';
import { startScratchPostgres, type ScratchPostgres } from '../../support/scratchPostgres';

let pg: ScratchPostgres;
const poolFor = (db: string) => pg.poolFor(db);
const withDb: ScratchPostgres['withDb'] = (db, fn) => pg.withDb(db, fn);

beforeAll(async () => {
  pg = await startScratchPostgres('catchup');
}, 60_000);
afterAll(() => pg?.stop());

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
