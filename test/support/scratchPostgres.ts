/**
 * A PostgreSQL of the test file's own (Debian's binaries, data in a temporary
 * directory) for reading an event store the way the catch-up reader does: a
 * small pool per database, all ended with the server.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { withClient } from '../../src/activities/pg';
import { PostgresServer } from '../../src/sandbox/postgres';

export interface ScratchPostgres {
  server: PostgresServer;
  /** A pool on the database, as the reader takes it. */
  poolFor(db: string): () => Pool;
  /** One piece of work on the database, created if absent. */
  withDb<T>(db: string, fn: (c: Client) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export async function startScratchPostgres(name: string): Promise<ScratchPostgres> {
  const parent = mkdtempSync(join(tmpdir(), `cutover-${name}-`));
  chmodSync(parent, 0o755);
  const server = await PostgresServer.start({ dir: join(parent, 'pg') });
  const pools: Pool[] = [];
  return {
    server,
    poolFor(db) {
      const pool = new Pool({ connectionString: server.url(db), max: 2 });
      pool.on('error', () => undefined); // idle connections end with the server
      pools.push(pool);
      return () => pool;
    },
    async withDb(db, fn) {
      await server.ensureDatabase(db);
      return withClient(server.url(db), fn);
    },
    async stop() {
      await Promise.all(pools.map((p) => p.end()));
      await server.stop();
    },
  };
}
