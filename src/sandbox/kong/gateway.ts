/**
 * One sandbox gateway node: a proxy (fastify + @fastify/reply-from) routing by
 * the routes and services in PostgreSQL, re-read every `dbUpdateFrequencyMs`
 * as Kong's traditional mode does; an Admin API on its own port; a status
 * listener with Kong's GET /status, GET /status/ready (503 with the reason
 * when the configuration cannot be loaded or the node drains) and POST
 * /status/ready {"status":"draining"}, and Prometheus metrics at /metrics.
 * `failRate` answers that share of proxied requests with 500 (for analysis tests).
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import replyFrom from '@fastify/reply-from';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Pool } from 'pg';
import { gatewayMetrics, type GatewayMetrics } from './metrics';
import { schemaState } from './migrations';
import { gatewayVersion, type GatewayVersion } from './schema';
import { ConfigStore, WriteError, type RouteTarget } from './store';

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

const UNMATCHED: Matched = { service: '', route: '', source: 'kong' };

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
  private draining = false;
  private refresher: NodeJS.Timeout | undefined;
  private proxied = 0;
  private readonly conns = { active: 0, accepted: 0, handled: 0, inFlight: 0, total: 0 };

  constructor(private readonly o: GatewayOptions) {
    this.v = gatewayVersion(o.version);
    this.pool = new Pool({ connectionString: o.database, max: 4, connectionTimeoutMillis: 5000 });
    this.pool.on('error', () => undefined); // an idle client's error; the next query reports it
    this.store = new ConfigStore(this.pool, this.v);
    this.metrics = gatewayMetrics(o.version, this.nodeId);
  }

  async start(): Promise<void> {
    await this.refresh();
    this.refresher = setInterval(() => void this.refresh(), this.o.dbUpdateFrequencyMs ?? 1000);
    this.servers.push(await this.listen(this.proxy(), this.o.proxyPort), await this.listen(this.admin(), this.o.adminPort), await this.listen(this.status(), this.o.statusPort));
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
      if (state.new_migrations.length) throw new Error(`database is missing migrations ${state.new_migrations.join(', ')}: run 'kong migrations up'`);
      this.routes = (await this.store.routeTargets()).sort((a, b) => Math.max(...b.paths.map((p) => p.length)) - Math.max(...a.paths.map((p) => p.length)));
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
      this.metrics.reachable.set(this.reachable ? 1 : 0);
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
    app.server.on('connection', (s: Socket) => {
      this.conns.accepted += 1;
      this.conns.handled += 1;
      this.conns.active += 1;
      s.once('close', () => (this.conns.active -= 1));
    });
    // Bodies are streamed to the upstream as they are, never parsed.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    void app.register(replyFrom, { undici: { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 } });
    app.addHook('onRequest', async () => {
      this.conns.total += 1;
      this.conns.inFlight += 1;
    });
    app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
      this.conns.inFlight -= 1;
      const m = req.kong ?? UNMATCHED;
      this.metrics.requests.inc({ service: m.service, route: m.route, code: String(reply.statusCode), source: m.source });
      this.metrics.latency.observe({ service: m.service, route: m.route }, reply.elapsedTime);
    });
    app.route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      url: '/*',
      handler: async (req, reply) => {
        reply.header('via', `1.1 kong/${this.v.version}`);
        if (this.configError && !this.routes.length) {
          req.kong = UNMATCHED;
          return reply.code(503).send({ message: `failure to get a peer from the ring-balancer: ${this.configError}` });
        }
        const [path, query] = splitUrl(req.url);
        const hit = this.match(path);
        if (!hit) {
          req.kong = UNMATCHED;
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

  private admin(): FastifyInstance {
    const app = Fastify();
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof WriteError) {
        const name = err.status === 409 ? 'unique constraint violation' : err.status === 404 ? 'not found' : 'schema violation';
        return reply.code(err.status).send({ name, message: `${name} (${err.field}: ${err.message})`, fields: { [err.field]: err.message } });
      }
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      return reply.code(status).send({ message: status < 500 ? (err as Error).message : `An unexpected error occurred: ${(err as Error).message}` });
    });
    const one = <T>(v: T | undefined, reply: FastifyReply) => v ?? reply.code(404).send({ message: 'Not found' });
    type Body = Record<string, never>;
    app.get('/', async () => ({ version: this.v.version, node_id: this.nodeId, tagline: 'Welcome to kong', configuration: { database: 'postgres' } }));
    app.get('/services', async () => ({ data: await this.store.services(), next: null }));
    app.get<{ Params: { key: string } }>('/services/:key', async (req, reply) => one(await this.store.service(req.params.key), reply));
    app.post<{ Body: Body }>('/services', async (req, reply) => reply.code(201).send(await this.store.createService(req.body ?? {})));
    app.patch<{ Params: { key: string }; Body: Body }>('/services/:key', async (req) => this.store.updateService(req.params.key, req.body ?? {}));
    app.delete<{ Params: { key: string } }>('/services/:key', async (req, reply) => reply.code(204).send(await this.store.deleteService(req.params.key)));
    app.get('/routes', async () => ({ data: await this.store.routes(), next: null }));
    app.post<{ Body: Body }>('/routes', async (req, reply) => reply.code(201).send(await this.store.createRoute(req.body ?? {})));
    app.post<{ Params: { key: string }; Body: Body }>('/services/:key/routes', async (req, reply) =>
      reply.code(201).send(await this.store.createRoute({ ...(req.body ?? {}), service: { name: req.params.key } })),
    );
    app.delete<{ Params: { key: string } }>('/routes/:key', async (req, reply) => reply.code(204).send(await this.store.deleteRoute(req.params.key)));
    // Writes are seen by this node at once, by the others at their next refresh.
    app.addHook('onSend', async (req, _reply, payload) => {
      if (req.method !== 'GET') await this.refresh();
      return payload;
    });
    return app;
  }

  private status(): FastifyInstance {
    const app = Fastify();
    app.get('/status', async () => ({
      server: {
        connections_active: this.conns.active,
        connections_reading: 0,
        connections_writing: this.conns.inFlight,
        connections_waiting: Math.max(0, this.conns.active - this.conns.inFlight),
        connections_accepted: this.conns.accepted,
        connections_handled: this.conns.handled,
        total_requests: this.conns.total,
      },
      database: { reachable: this.reachable },
    }));
    app.get('/status/ready', async (_req, reply) => {
      const reason = this.draining ? 'draining' : this.configError;
      return reason ? reply.code(503).send({ message: reason }) : { message: 'ready' };
    });
    app.post<{ Body: { status?: unknown } }>('/status/ready', async (req, reply) => {
      if (req.body?.status !== 'draining') return reply.code(400).send({ message: `status: expected "draining", got ${JSON.stringify(req.body?.status ?? null)}` });
      this.draining = true;
      return reply.code(204).send();
    });
    app.get('/metrics', async (_req, reply) => reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics()));
    return app;
  }
}

function splitUrl(url: string): [string, string] {
  const i = url.indexOf('?');
  return i < 0 ? [url, ''] : [url.slice(0, i), url.slice(i)];
}
