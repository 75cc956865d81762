/**
 * One sandbox gateway node of the Kong version it emulates: a proxy (fastify
 * + @fastify/reply-from) routing by the routes and services in PostgreSQL,
 * re-read every `dbUpdateFrequencyMs` as Kong's traditional mode does, with
 * the global prometheus plugin's config; an Admin API on its own port
 * (./adminApi.ts); a status listener (./statusApi.ts). Its nginx-style
 * connection counts cover all three listeners, as Kong's do.
 * `failRate` answers that share of proxied requests with 500 (for analysis tests).
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import replyFrom from '@fastify/reply-from';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Pool } from 'pg';
import { adminApi } from './adminApi';
import { GatewayMetrics, type NginxStatistics } from './metrics';
import { schemaState } from './migrations';
import { gatewayVersion, type GatewayVersion } from './schema';
import { statusApi } from './statusApi';
import { ConfigStore, type RouteTarget } from './store';

export interface GatewayOptions {
  version: string;
  /** postgres:// URL of the gateway's database. */
  database: string;
  /** The address its listeners bind (a loopback one); default 127.0.0.1. */
  host?: string;
  proxyPort: number;
  adminPort: number;
  statusPort: number;
  dbUpdateFrequencyMs?: number;
  /** Share of proxied requests answered 500 by the gateway itself, 0..1. */
  failRate?: number;
}

interface Matched {
  service: string;
  route: string;
  source: 'service' | 'kong';
}

declare module 'fastify' {
  interface FastifyRequest {
    kong?: Matched;
  }
}

export class Gateway {
  readonly nodeId = randomUUID();
  private readonly v: GatewayVersion;
  private readonly pool: Pool;
  private readonly store: ConfigStore;
  private readonly metrics: GatewayMetrics;
  private readonly servers: FastifyInstance[] = [];
  private routes: RouteTarget[] = [];
  /** Why the node is not ready; undefined when it is. */
  private configError: string | undefined = 'configuration not loaded yet';
  private reachable = false;
  private refresher: NodeJS.Timeout | undefined;
  private proxied = 0;
  private readonly conns = { active: 0, accepted: 0, handled: 0, inFlight: 0, total: 0 };

  constructor(private readonly o: GatewayOptions) {
    this.v = gatewayVersion(o.version);
    this.pool = new Pool({ connectionString: o.database, max: 4, connectionTimeoutMillis: 5000 });
    this.pool.on('error', () => undefined); // an idle client's error; the next query reports it
    this.store = new ConfigStore(this.pool, this.v);
    this.metrics = new GatewayMetrics(this.v, this.nodeId);
  }

  async start(): Promise<void> {
    await this.refresh();
    this.refresher = setInterval(() => void this.refresh(), this.o.dbUpdateFrequencyMs ?? 1000);
    const admin = adminApi({ v: this.v, nodeId: this.nodeId, store: this.store, refresh: () => this.refresh() });
    const status = statusApi({
      v: this.v,
      statistics: () => this.statistics(),
      reachable: () => this.reachable,
      notReady: () => this.configError,
      metrics: () => this.metrics.text(this.statistics()),
    });
    for (const [app, port] of [
      [this.proxy(), this.o.proxyPort],
      [admin, this.o.adminPort],
      [status, this.o.statusPort],
    ] as const) {
      this.servers.push(await this.listen(this.counted(app), port));
    }
  }

  /** nginx's statistics (kong.nginx.get_statistics): every listener's connections; a request is writing until answered. */
  private statistics(): NginxStatistics {
    const c = this.conns;
    return {
      connections_active: c.active,
      connections_reading: 0,
      connections_writing: c.inFlight,
      connections_waiting: Math.max(0, c.active - c.inFlight),
      connections_accepted: c.accepted,
      connections_handled: c.handled,
      total_requests: c.total,
    };
  }

  private counted(app: FastifyInstance): FastifyInstance {
    app.server.on('connection', (s: Socket) => {
      this.conns.accepted += 1;
      this.conns.handled += 1;
      this.conns.active += 1;
      s.once('close', () => (this.conns.active -= 1));
    });
    app.addHook('onRequest', async () => {
      this.conns.total += 1;
      this.conns.inFlight += 1;
    });
    app.addHook('onResponse', async () => {
      this.conns.inFlight -= 1;
    });
    return app;
  }

  async stop(): Promise<void> {
    clearInterval(this.refresher);
    await Promise.all(this.servers.map((s) => s.close()));
    await this.pool.end();
  }

  private async listen(app: FastifyInstance, port: number): Promise<FastifyInstance> {
    await app.listen({ host: this.o.host ?? '127.0.0.1', port });
    return app;
  }

  /** Re-reads the routes; a schema this version cannot read clears them, a lost database keeps the last ones (as Kong's cache does). */
  private async refresh(): Promise<void> {
    try {
      const state = await schemaState(this.pool, this.v);
      this.reachable = true;
      if (state.needs_bootstrap) throw new Error("database needs bootstrapping: run 'kong migrations bootstrap'");
      if (state.new_migrations) throw new Error(`database is missing migrations ${state.new_migrations.flatMap((m) => m.migrations).join(', ')}: run 'kong migrations up'`);
      this.routes = (await this.store.routeTargets()).sort((a, b) => Math.max(...b.paths.map((p) => p.length)) - Math.max(...a.paths.map((p) => p.length)));
      this.metrics.config = await this.store.prometheusFlags();
      this.configError = undefined;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const schemaError = !code || code.startsWith('42'); // 42xxx: undefined column/table
      if (!schemaError) {
        this.reachable = false;
        this.configError = `database unreachable: ${(err as Error).message}`;
        return;
      }
      this.routes = [];
      this.configError = `failed to load configuration: ${(err as Error).message}`;
    } finally {
      this.metrics.reachable = this.reachable;
    }
  }

  private match(path: string): { target: RouteTarget; prefix: string } | undefined {
    for (const target of this.routes) {
      const prefix = target.paths.filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
      if (prefix) return { target, prefix };
    }
    return undefined;
  }

  private fail(): boolean {
    const rate = this.o.failRate ?? 0;
    this.proxied += 1;
    return Math.floor(this.proxied * rate) > Math.floor((this.proxied - 1) * rate);
  }

  private proxy(): FastifyInstance {
    const app = Fastify({ keepAliveTimeout: 60_000 });
    // Bodies are streamed to the upstream as they are, never parsed.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    void app.register(replyFrom, { undici: { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 } });
    app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
      const m = req.kong;
      if (m) this.metrics.observe({ service: m.service, route: m.route, code: reply.statusCode, source: m.source, latencyMs: reply.elapsedTime });
    });
    app.route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      url: '/*',
      handler: async (req, reply) => {
        reply.header('via', `1.1 kong/${this.v.version}`);
        if (this.configError && !this.routes.length) {
          return reply.code(503).send({ message: `failure to get a peer from the ring-balancer: ${this.configError}` });
        }
        const [path, query] = splitUrl(req.url);
        const hit = this.match(path);
        if (!hit) {
          return reply.code(404).send({ message: 'no Route matched with those values' });
        }
        req.kong = { service: hit.target.service, route: hit.target.route, source: 'kong' };
        if (this.fail()) return reply.code(500).send({ message: 'An unexpected error occurred' });
        const rest = hit.target.stripPath ? path.slice(hit.prefix.length) : path;
        req.kong.source = 'service';
        return reply.from(`${hit.target.url}${rest.startsWith('/') || !rest ? rest || '/' : `/${rest}`}${query}`, {
          onError: (r, { error }) => {
            req.kong = { ...req.kong!, source: 'kong' };
            void r.code(502).send({ message: `An invalid response was received from the upstream server: ${error.message}` });
          },
        });
      },
    });
    return app;
  }
}

function splitUrl(url: string): [string, string] {
  const i = url.indexOf('?');
  return i < 0 ? [url, ''] : [url.slice(0, i), url.slice(i)];
}
