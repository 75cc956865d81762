/** The sandbox's PostgreSQL: started from Debian's binaries, reachable with pg, adopted when already running, stopped. */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PostgresServer } from '../../src/sandbox/postgres';

test('starts, creates a database once, is adopted by a second start, stops', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'cutover-pg-'));
  chmodSync(parent, 0o755); // the server may run as the postgres user
  const dir = join(parent, 'pg');
  const pg = await PostgresServer.start({ dir });
  try {
    await pg.ensureDatabase('kong');
    await pg.ensureDatabase('kong');
    const client = new Client({ connectionString: pg.url('kong') });
    await client.connect();
    const { rows } = await client.query('SELECT current_database() AS db, current_user AS who');
    await client.end();
    expect(rows[0]).toEqual({ db: 'kong', who: 'cutover' });

    const again = await PostgresServer.start({ dir });
    expect(again.port).toBe(pg.port);
  } finally {
    await pg.stop();
  }
  const after = new Client({ connectionString: pg.url(), connectionTimeoutMillis: 2000 });
  await expect(after.connect()).rejects.toThrow();
}, 60_000);
