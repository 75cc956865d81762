/**
 * The sandbox's PostgreSQL: started from Debian's binaries, reachable with pg,
 * adopted when already running, stopped; as root, also in a private directory
 * the postgres user cannot enter.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PostgresServer, RELOCATED } from '../../src/sandbox/postgres';

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

test('in a private directory (mktemp -d, mode 0700) it starts all the same, again and again on the same data', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'cutover-pg-private-'));
  const dir = join(parent, 'pg');
  const pg = await PostgresServer.start({ dir });
  try {
    await pg.ensureDatabase('kept');
    if (process.getuid?.() === 0) {
      // the postgres user could not have read a pwfile in there: the server's files are elsewhere, and a note says where
      expect(pg.dir.startsWith(`${RELOCATED}/`)).toBe(true);
      expect(readFileSync(join(dir, 'WHERE'), 'utf8')).toContain(pg.dir);
    }
    await pg.stop();
    const again = await PostgresServer.start({ dir });
    expect(again.dir).toBe(pg.dir);
    const client = new Client({ connectionString: again.url('kept') });
    await client.connect();
    await client.end();
    await again.stop();
  } finally {
    await pg.stop();
    if (pg.dir !== dir) rmSync(pg.dir, { recursive: true, force: true });
  }
}, 60_000);
