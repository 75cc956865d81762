/**
 * The router in front of Kong's Admin API (fastify + @fastify/reply-from):
 * reads pass to the Admin API; writes too, unless a cutover upgrade froze
 * them, then 423 naming the upgrade (writes between `kong migrations up` and
 * `finish` are unsafe, Kong/kong #9404). The freeze is a row cutover's worker
 * writes into the Kong database (cutover_admin_freeze), so it holds across
 * restarts of either side and every replica of the router sees it.
 */
import replyFrom from '@fastify/reply-from';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Pool } from 'pg';
import { Counter, type Registry } from 'prom-client';

export interface AdminRouterOptions {
  host: string;
  port: number;
  /** The Kong database (where cutover's worker sets the freeze). */
  databaseUrl: string;
  /** Admin API base URLs, asked per request (the sandbox's nodes come and go); taken in turn. */
  upstreams(): string[];
  log: FastifyBaseLogger;
  /** Where its request counter goes; omitted: not counted. */
  registry?: Registry;
}

interface Freeze {
  upgrade: string;
  reason: string;
  since: Date;
}

/** What never changes Kong's configuration; CORS preflights (Kong Manager) included. */
const READS = ['GET', 'HEAD', 'OPTIONS'];

export async function startAdminRouter(o: AdminRouterOptions): Promise<FastifyInstance> {
  const pool = new Pool({ connectionString: o.databaseUrl, max: 4, connectionTimeoutMillis: 5000 });
  pool.on('error', (err) => o.log.warn({ err: err.message }, 'Kong database connection lost'));
  const frozen = async (): Promise<Freeze | undefined> => {
    const { rows } = await pool.query<{ t: string | null }>(`SELECT to_regclass('cutover_admin_freeze')::text AS t`);
    if (!rows[0].t) return undefined;
    return (await pool.query<Freeze>(`SELECT upgrade, reason, since FROM cutover_admin_freeze`)).rows[0];
  };
  let next = 0;
  const app = Fastify({ loggerInstance: o.log, logController: new LogController({ disableRequestLogging: true }) });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  await app.register(replyFrom);
  app.addHook('onClose', () => pool.end());
  if (o.registry) {
    const requests = new Counter({ name: 'cutover_admin_router_requests_total', help: 'Admin API requests through the router, by kind (read or write) and status (423: frozen by an upgrade)', labelNames: ['kind', 'status'], registers: [o.registry] });
    app.addHook('onResponse', async (req, reply) => {
      if (req.url !== '/healthz') requests.inc({ kind: READS.includes(req.method) ? 'read' : 'write', status: String(reply.statusCode) });
    });
  }
  // the router's own: Kong's Admin API has no such path
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.all('/*', async (req, reply) => {
    if (!READS.includes(req.method)) {
      let f: Freeze | undefined;
      try {
        f = await frozen();
      } catch (err) {
        // not knowing whether an upgrade holds writes, hold them: a read-only Admin API is safe, a write during migrations is not
        req.log.error({ err: (err as Error).message, method: req.method, url: req.url }, 'write refused: the Kong database is unreachable');
        return reply.code(503).send({ message: `cannot tell whether a cutover upgrade froze Admin API writes: the Kong database is unreachable (${(err as Error).message}); retry` });
      }
      if (f) {
        req.log.warn({ upgrade: f.upgrade, method: req.method, url: req.url }, 'write refused: frozen by an upgrade');
        return reply.code(423).send({
          message: `Admin API writes are frozen by cutover upgrade ${f.upgrade} (${f.reason}) since ${f.since.toISOString()}: they are unsafe between 'kong migrations up' and 'finish' (Kong/kong #9404) and resume when the upgrade ends`,
          upgrade: f.upgrade,
        });
      }
      req.log.info({ method: req.method, url: req.url }, 'write passed');
    }
    const nodes = o.upstreams();
    if (!nodes.length) return reply.code(503).send({ message: 'no Admin API to route to' });
    next = (next + 1) % nodes.length;
    return reply.from(`${nodes[next]}${req.url}`);
  });
  await app.listen({ host: o.host, port: o.port });
  return app;
}
