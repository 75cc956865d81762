/**
 * Sandbox gateway nodes for a test file: a PostgreSQL and an echo upstream
 * started before its tests, every node started through `start` stopped
 * after them, with the server.
 */
import { join } from 'node:path';
import { startEchoUpstream } from '../../src/sandbox/kong/echo';
import { startGatewayNode, type GatewayNode, type KongDatabase } from '../../src/sandbox/kong/launcher';
import type { PostgresServer } from '../../src/sandbox/postgres';
import { startPostgres } from './kongDatabase';

export interface Gateways {
  readonly pg: PostgresServer;
  readonly echo: { url: string };
  /** A node of `version` on `db`, refreshing its configuration every 200 ms. */
  start(name: string, version: string, db: KongDatabase, failRate?: number): Promise<GatewayNode>;
}

export function gatewaysForThisFile(): Gateways {
  let pg: PostgresServer | undefined;
  let logDir = '';
  let echo: { url: string; close(): Promise<void> } | undefined;
  const nodes: GatewayNode[] = [];
  beforeAll(async () => {
    const s = await startPostgres();
    pg = s.pg;
    logDir = join(s.dir, 'logs');
    echo = await startEchoUpstream();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await echo?.close();
    await pg?.stop();
  });
  return {
    get pg() {
      return pg!;
    },
    get echo() {
      return echo!;
    },
    async start(name, version, db, failRate) {
      const n = await startGatewayNode({ name, version, db, logDir, failRate, dbUpdateFrequencyMs: 200 });
      nodes.push(n);
      return n;
    },
  };
}
