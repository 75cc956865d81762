/** A PostgreSQL server for a Kong test file, and Kong's database settings for one of its databases. */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientConfig } from 'pg';
import { PostgresServer, SANDBOX_PG_PASSWORD, SANDBOX_PG_USER } from '../../src/sandbox/postgres';
import type { KongDatabase } from '../../src/sandbox/kong/launcher';

export async function startPostgres(): Promise<{ pg: PostgresServer; dir: string }> {
  const parent = mkdtempSync(join(tmpdir(), 'cutover-kong-'));
  chmodSync(parent, 0o755); // the server may run as the postgres user
  return { pg: await PostgresServer.start({ dir: join(parent, 'pg') }), dir: parent };
}

export async function kongDatabase(pg: PostgresServer, database: string): Promise<KongDatabase> {
  await pg.ensureDatabase(database);
  return { host: '127.0.0.1', port: pg.port, user: SANDBOX_PG_USER, password: SANDBOX_PG_PASSWORD, database };
}

/**
 * Another Kong node holds the migrations lock until a migration has found it taken and waits for it
 * (Kong's `up` then exits 0, having migrated nothing): the lock trap, however long the migration takes
 * to start. A lock with a fixed lifetime would expire first on a loaded machine, and `up` would migrate.
 * Resolves once the lock is released.
 */
export async function anotherNodeHoldsTheLock(db: ClientConfig): Promise<void> {
  const c = new Client(db);
  await c.connect();
  try {
    await c.query(`INSERT INTO locks (key, owner, ttl) VALUES ('migrations', 'another-node', now() + interval '10 minutes')`);
    // a session's last statement stays in pg_stat_activity: the waiting loop's check of the lock
    const waiting = `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'SELECT 1 FROM locks WHERE key = ''migrations''%'`;
    const deadline = Date.now() + 90_000;
    while ((await c.query<{ n: number }>(waiting)).rows[0]!.n === 0) {
      if (Date.now() > deadline) throw new Error('no migration waited for the lock within 90 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await c.query(`DELETE FROM locks WHERE owner = 'another-node'`);
  } finally {
    await c.end();
  }
}
