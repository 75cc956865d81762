/**
 * The Kong kind in the local sandbox: one PostgreSQL (Debian's binaries,
 * bootstrapped by the first version's `kong migrations bootstrap`, with a
 * service and a catch-all route to an echo upstream, and a global prometheus
 * plugin with the per-status and latency metrics the analysis reads: off by
 * default in Kong, so an operator turns them on), sandbox gateway nodes
 * per release on that database, nginx's http upstream of the nodes that get
 * traffic (weighted during a split, keep-alive to the nodes), and the router
 * in front of the nodes' Admin APIs that answers 423 while an upgrade froze
 * writes. Its kindPort runs migrations commands as processes and lists a
 * release's nodes, for the Kong activities.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { Pool } from 'pg';
import type { LocalPlacement } from '../../config/targets';
import type { KongNodeAddress, LocalKong } from '../../domain/kong/local';
import type { KongAccess } from '../../domain/kong/schema';
import type { NodeSpec, SandboxKind } from '../localSandbox';
import { PostgresServer, SANDBOX_PG_PASSWORD, SANDBOX_PG_USER } from '../postgres';
import { startAdminRouter } from '../../kongAdminRouter/router';
import { startEchoUpstream } from './echo';
import { runMigrationsProcess, startGatewayNode, type GatewayNode, type KongDatabase } from './launcher';
import { gatewayVersion } from './schema';
import { ConfigStore } from './store';

export interface KongSandboxOptions {
  placement: LocalPlacement;
  access: KongAccess;
  /** The worker's environment: the database password is read from (or, unset, put into) the access block's variable. */
  env: NodeJS.ProcessEnv;
  /** Versions that answer this share of requests with 500 (for analysis demos and tests), e.g. {"3.9.1": 0.2}; see also failRatesFile. */
  failRates?: Record<string, number>;
  dbUpdateFrequencyMs?: number;
}

/** SANDBOX_KONG_FAIL_RATES="3.9.1=0.2,3.9.2=0.5" */
export function parseFailRates(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const [version, rate] = part.split('=');
    const n = Number(rate);
    if (!version || !(n >= 0 && n <= 1)) throw new Error(`SANDBOX_KONG_FAIL_RATES: '${part}' must be <version>=<share between 0 and 1>`);
    out[version.trim()] = n;
  }
  return out;
}

/**
 * Next to the sandbox's state file: fail rates a demo sets for the version it
 * is about to upgrade to (a JSON object like failRates), read when a node
 * starts, so a failing version needs no restart of the sandbox.
 */
export const failRatesFile = (stateFile: string): string => join(dirname(stateFile), 'fail-rates.json');

function failRateOf(version: string, fromEnv: Record<string, number> | undefined, file: string): number | undefined {
  let fromFile: Record<string, number> = {};
  try {
    fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  return fromFile[version] ?? fromEnv?.[version];
}

export type KongSandbox = SandboxKind & { kindPort: LocalKong; database: KongDatabase };

export function kongSandbox(o: KongSandboxOptions): KongSandbox {
  const { ports } = o.placement;
  o.env[o.access.database.password.env] ||= SANDBOX_PG_PASSWORD;
  const db: KongDatabase = {
    host: '127.0.0.1',
    port: ports.postgres,
    user: o.access.database.user ?? SANDBOX_PG_USER,
    password: o.env[o.access.database.password.env]!,
    database: o.access.database.database ?? 'kong',
  };
  let pg: PostgresServer | undefined;
  let dir = '';
  const closers: { close(): Promise<unknown> }[] = [];
  const nodes = new Map<string, { release: string; node: GatewayNode }>();
  const running = (release?: string) => [...nodes.entries()].filter(([, n]) => (release === undefined || n.release === release) && n.node.process.exitCode === null);

  /** A fresh database gets the first version's schema and one route to the echo upstream, as an operator would set it up. */
  async function bootstrap(upstream: string): Promise<void> {
    const r = await runMigrationsProcess({ version: o.placement.version, command: 'bootstrap', db });
    if (r.exitCode !== 0) throw new Error(`kong migrations bootstrap failed: ${r.output.join(' | ')}`);
    if (r.output.includes('Database already bootstrapped')) return; // a restart: the configuration is there, maybe in a newer schema
    const pool = new Pool({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
    try {
      const store = new ConfigStore(pool, gatewayVersion(o.placement.version));
      await store.createService({ name: 'echo', url: upstream });
      await store.createRoute({ name: 'echo', paths: ['/'], service: { name: 'echo' } });
      await store.createPlugin({ name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true } });
    } finally {
      await pool.end();
    }
  }

  const kindPort: LocalKong = {
    runMigrations: (i) => runMigrationsProcess({ ...i, db }),
    async nodes(release): Promise<KongNodeAddress[]> {
      return running(release)
        .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
        .map(([pod, { node }]) => ({ pod, proxyUrl: node.proxyUrl, statusUrl: node.statusUrl, adminUrl: node.adminUrl }));
    },
  };

  return {
    database: db,
    kindPort,
    imageOf: (version) => `cutover/sandbox-kong:${version}`,
    nodePorts: ['proxy', 'admin', 'status'],
    // the gateway's Prometheus metrics (requests by status, latency) are on its status listener, as Kong's are
    metrics: { port: 'status', path: '/metrics' },
    async start(d) {
      dir = d;
      pg ??= await PostgresServer.start({ dir: join(d, 'postgres'), port: ports.postgres });
      await pg.ensureDatabase(db.database);
      const echo = await startEchoUpstream(ports.upstream);
      closers.push(echo);
      await bootstrap(echo.url);
      closers.push(
        await startAdminRouter({
          host: '127.0.0.1',
          port: ports.admin,
          databaseUrl: pg.url(db.database),
          upstreams: () => running().map(([, n]) => n.node.adminUrl),
          log: pino(pino.destination({ dest: join(d, 'admin-router.log'), mkdir: true })),
        }),
      );
    },
    async stop() {
      await Promise.all(closers.splice(0).map((c) => c.close()));
      await pg?.stop();
      pg = undefined;
    },
    async startNode(spec: NodeSpec) {
      const node = await startGatewayNode({
        name: spec.pod,
        version: spec.version,
        db,
        logDir: dir,
        proxyPort: spec.ports.proxy,
        adminPort: spec.ports.admin,
        statusPort: spec.ports.status,
        failRate: failRateOf(spec.version, o.failRates, failRatesFile(join(dir, '..', 'state.json'))),
        dbUpdateFrequencyMs: o.dbUpdateFrequencyMs,
      });
      nodes.set(spec.pod, { release: spec.release, node });
      const stop = node.stop;
      return {
        version: spec.version,
        process: node.process,
        stop: async () => {
          await stop();
          if (nodes.get(spec.pod)?.node === node) nodes.delete(spec.pod);
        },
      };
    },
    traffic: { name: 'kong_proxy', port: 'proxy' },
    routes: () => ({
      streams: [],
      http: [
        {
          name: 'kong_proxy',
          listen: ports.proxy,
          // A node that stops refuses the connection: the request goes to another node, the client never sees it.
          directives: ['proxy_http_version 1.1;', 'proxy_set_header Connection "";', 'proxy_next_upstream error timeout;', 'proxy_connect_timeout 2s;'],
        },
      ],
    }),
    describe: () =>
      `proxy http://127.0.0.1:${ports.proxy} (nginx), Admin API http://127.0.0.1:${ports.admin} (423 while an upgrade freezes writes), ` +
      `PostgreSQL 127.0.0.1:${ports.postgres}, nginx status http://127.0.0.1:${ports.status}/status`,
  };
}
