/**
 * The projection kind in the local sandbox: one PostgreSQL holding the
 * Axon-shaped event store (seeded once, then appended to steadily by the
 * producer) and each release's own database; each release is a process of
 * the projection service; nginx sends queries to the serving release. A
 * version containing "stall" makes a release whose processor stops at
 * 100,000 events, to show a stalled green.
 */
import { join } from 'node:path';
import { Client } from 'pg';
import type { LocalPlacement } from '../../config/targets';
import { releaseDatabaseName } from '../../domain/projection/naming';
import type { ProjectionAccess } from '../../domain/projection/schema';
import { withClient } from '../../activities/pg';
import { ensureReleaseDatabase } from '../../activities/projection/releaseDatabase';
import type { SandboxKind } from '../localSandbox';
import { PostgresServer } from '../postgres';
import { createAxonSchema, seedOrders } from './axonStore';
import { Producer } from './producer';
import { startReleaseService } from './release';

export interface ProjectionSandboxOptions {
  target: string;
  placement: LocalPlacement;
  access: ProjectionAccess;
  /** The worker's environment: the access block's secrets are read from (or, unset, put into) it. */
  env: NodeJS.ProcessEnv;
  /** Where the releases reach cutover's phase endpoint, and their service token. */
  api: { url: string; token: string };
  /** Events in the store on its first start. */
  seed: number;
  /** Events appended per second while the sandbox runs. */
  appendRate: number;
  /** Microseconds each release's handlers spend per event (see ProjectionServiceOptions.handlerCostUs). */
  handlerCostUs: number;
}

const STORE_DB = 'eventstore';
export const STALL_AT = 100_000;

export function projectionSandbox(o: ProjectionSandboxOptions): SandboxKind {
  const { ports } = o.placement;
  let pg: PostgresServer | undefined;
  let producer: Producer | undefined;
  let dir = '';
  const running = (): PostgresServer => {
    if (!pg) throw new Error(`the PostgreSQL of sandbox ${o.target} is not running`);
    return pg;
  };
  const roleSecret = () => o.env[o.access.rolePasswordSecret.env]!;

  return {
    imageOf: (version) => `cutover/sandbox-projection:${version}`,
    nodePorts: ['query'],
    // queries by status and events handled, per release, beside the queries (see ./metrics)
    metrics: { port: 'query', path: '/metrics' },
    async start(nodesDir) {
      dir = nodesDir;
      pg ??= await PostgresServer.start({ dir: join(nodesDir, '..', 'postgres'), port: ports.postgres });
      // unset secrets: the sandbox's own, put where the projection activities read them
      o.env[o.access.databasesUrl.env] ||= pg.url();
      if (o.access.eventStoreUrl) o.env[o.access.eventStoreUrl.env] ||= pg.url(STORE_DB);
      o.env[o.access.rolePasswordSecret.env] ||= 'sandbox-projection-role-secret';
      await pg.ensureDatabase(STORE_DB);
      await withClient(pg.url(STORE_DB), async (c: Client) => {
        await createAxonSchema(c, { naming: 'jdbc', tokenStorage: 'bytea' });
        const { rows } = await c.query<{ n: string | null }>('SELECT max(globalIndex) AS n FROM DomainEventEntry');
        if (rows[0].n === null) await seedOrders(c, 'jdbc', o.seed);
      });
      producer = new Producer({ url: pg.url(STORE_DB), naming: 'jdbc', rate: o.appendRate });
      producer.start();
    },
    async stop() {
      await producer?.stop();
      producer = undefined;
      await pg?.stop();
      pg = undefined;
    },
    async startNode(spec) {
      const server = running();
      const db = releaseDatabaseName(spec.release);
      // the releases' databases: the sandbox's own PostgreSQL, unless the target's databasesUrl names another (several targets may share one)
      const databasesUrl = o.env[o.access.databasesUrl.env]!;
      const databases = new URL(databasesUrl);
      // the target's first release has no upgrade that prepared its database (an upgrade's green has it already: left as it is)
      await withClient(databasesUrl, (c) => ensureReleaseDatabase(c, db, roleSecret()));
      const node = await startReleaseService({
        target: o.target,
        release: spec.release,
        version: spec.version,
        port: spec.ports.query,
        eventStoreUrl: server.url(STORE_DB),
        databases: { host: databases.hostname, port: Number(databases.port || 5432) },
        rolePasswordSecret: roleSecret(),
        processorTemplate: o.access.processorName,
        api: o.api,
        handlerCostUs: o.handlerCostUs,
        stallAt: spec.version.includes('stall') ? STALL_AT : undefined,
        logFile: join(dir, `${spec.pod}.log`),
      });
      return { version: spec.version, process: node.process, stop: node.stop };
    },
    traffic: {
      name: 'projection_query',
      port: 'query',
      // Every other release is a backup: nginx moves queries before the releases learn their new phase,
      // so one that still says 503 (not yet SERVING) hands the query to the one that still serves.
      others: 'backup',
      // a 503 is a release between phases, not a broken one: never take it out of the upstream
      serverOptions: 'max_fails=0',
    },
    routes: () => ({
      streams: [],
      http: [
        {
          name: 'projection_query',
          listen: ports.query,
          directives: ['proxy_next_upstream error timeout http_503;', 'proxy_next_upstream_tries 3;', 'proxy_connect_timeout 2s;'],
        },
      ],
    }),
    describe: () =>
      `queries http://127.0.0.1:${ports.query}/customers/c1 (nginx, the serving release), event store ${pg ? pg.url(STORE_DB).replace(/:[^:@/]+@/, ':***@') : '(stopped)'}, ` +
      `producer ${o.appendRate} events/s, handlers ${o.handlerCostUs} µs/event, nginx status http://127.0.0.1:${ports.status}/status`,
  };
}
