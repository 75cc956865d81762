/**
 * The sandbox gateway's status listener, as the Kong version it emulates
 * answers (kong/status/init.lua, kong/api/routes/health.lua,
 * kong/status/ready.lua, kong/api/api_helpers.lua):
 *  - GET /status: memory, server (nginx's statistics), database.reachable;
 *  - GET /status/ready from 3.3 (before: 404 {"message":"Not found"}): 200
 *    {"message":"ready"} or 503 with the reason; from 3.9 503 "draining" once
 *    drained, whatever else holds;
 *  - POST /status/ready: from 3.9 {"status":"draining"} is 204 and any other
 *    status 400 with no body (other fields are not looked at); from 3.3 to
 *    3.8, 405 {"message":"Method not allowed"}, as for any method a route lacks;
 *  - a JSON body that does not parse: 400 {"message":"Cannot parse JSON
 *    body"}; a body of another content type: 415;
 *  - /metrics: the Prometheus plugin's.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { NginxStatistics } from './metrics';
import type { GatewayVersion } from './schema';

export interface StatusApiOptions {
  v: GatewayVersion;
  statistics(): NginxStatistics;
  reachable(): boolean;
  /** Why the node is not ready; undefined when it is. */
  notReady(): string | undefined;
  metrics(): string;
}

const NOT_ALLOWED = { message: 'Method not allowed' };
const OTHER_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

export function statusApi(o: StatusApiOptions): FastifyInstance {
  const app = Fastify();
  let draining = false;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    try {
      done(null, text === '' ? {} : JSON.parse(text as string));
    } catch {
      done(Object.assign(new Error('Cannot parse JSON body'), { statusCode: 400 }), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, text, done) => done(null, Object.fromEntries(new URLSearchParams(text as string))));
  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status === 415) return reply.code(415).send();
    return reply.code(status).send({ message: status < 500 ? (err as Error).message : 'An unexpected error occurred' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ message: 'Not found' }));

  app.get('/status', async () => ({
    memory: { workers_lua_vms: [{ http_allocated_gc: '0.00 MiB', pid: process.pid }], lua_shared_dicts: { kong: { allocated_slabs: '0.04 MiB', capacity: '5.00 MiB' } } },
    server: o.statistics(),
    database: { reachable: o.reachable() },
  }));
  app.route({ method: OTHER_METHODS.slice(), url: '/status', handler: async (_req, reply) => reply.code(405).send(NOT_ALLOWED) });
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; charset=UTF-8').send(o.metrics()));

  if (o.v.features.statusReady) {
    app.get('/status/ready', async (_req, reply) => {
      if (draining) return reply.code(503).send({ message: 'draining' });
      const reason = o.notReady();
      return reason ? reply.code(503).send({ message: reason }) : { message: 'ready' };
    });
    const post = o.v.features.postDraining;
    app.route({
      method: post ? ['PUT', 'PATCH', 'DELETE'] : OTHER_METHODS.slice(),
      url: '/status/ready',
      handler: async (_req, reply) => reply.code(405).send(NOT_ALLOWED),
    });
    if (post) {
      app.post<{ Body: { status?: unknown } | undefined }>('/status/ready', async (req, reply) => {
        if (req.body?.status !== 'draining') return reply.code(400).send();
        draining = true;
        return reply.code(204).send();
      });
    }
  }
  return app;
}
