/**
 * The router in front of the Admin API (fastify + @fastify/reply-from): reads
 * pass to a running gateway node; writes too, unless an upgrade froze them,
 * then 423 naming the upgrade. The freeze is a row cutover's worker writes
 * into the Kong database (cutover_admin_freeze), so it holds across restarts
 * of either side.
 */
import replyFrom from '@fastify/reply-from';
import Fastify, { type FastifyInstance } from 'fastify';
import { Pool } from 'pg';

export interface AdminRouterOptions {
  port: number;
  database: string;
  /** Admin API base URLs of the running nodes, asked per request. */
  upstreams(): string[];
}

interface Freeze {
  upgrade: string;
  reason: string;
  since: Date;
}

export async function startAdminRouter(o: AdminRouterOptions): Promise<FastifyInstance> {
  const pool = new Pool({ connectionString: o.database, max: 2 });
  pool.on('error', () => undefined);
  const frozen = async (): Promise<Freeze | undefined> => {
    const { rows } = await pool.query<{ t: string | null }>(`SELECT to_regclass('cutover_admin_freeze')::text AS t`);
    if (!rows[0].t) return undefined;
    return (await pool.query<Freeze>(`SELECT upgrade, reason, since FROM cutover_admin_freeze`)).rows[0];
  };
  let next = 0;
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  await app.register(replyFrom);
  app.addHook('onClose', () => pool.end());
  app.all('/*', async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const f = await frozen();
      if (f) {
        return reply.code(423).send({
          message: `Admin API writes are frozen by cutover upgrade ${f.upgrade} (${f.reason}) since ${f.since.toISOString()}: they are unsafe between 'kong migrations up' and 'finish' (Kong/kong #9404) and resume when the upgrade ends`,
          upgrade: f.upgrade,
        });
      }
    }
    const nodes = o.upstreams();
    if (!nodes.length) return reply.code(503).send({ message: 'no gateway node is running' });
    next = (next + 1) % nodes.length;
    return reply.from(`${nodes[next]}${req.url}`);
  });
  await app.listen({ host: '127.0.0.1', port: o.port });
  return app;
}
