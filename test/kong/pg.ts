/** A PostgreSQL server for a Kong test file, and Kong's database settings for one of its databases. */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
