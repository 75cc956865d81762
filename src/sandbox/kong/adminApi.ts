/**
 * The sandbox gateway's Admin API, as the Kong version it emulates answers:
 * GET / with the fields of kong/api/routes/kong.lua (`edition` from 3.6),
 * services, routes and the prometheus plugin, errors shaped as
 * kong/db/errors.lua shapes them (a field Kong's schema lacks is a schema
 * violation). A write is seen by this node at once, by the others at their
 * next refresh.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { GatewayVersion } from './schema';
import { WriteError, type ConfigStore } from './store';

const ERRORS = { 400: { code: 2, name: 'schema violation' }, 409: { code: 5, name: 'unique constraint violation' } } as const;

export function adminApi(o: { v: GatewayVersion; nodeId: string; store: ConfigStore; refresh(): Promise<void> }): FastifyInstance {
  const { store } = o;
  const app = Fastify();
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof WriteError) {
      if (err.status === 404) return reply.code(404).send({ message: 'Not found' });
      const e = ERRORS[err.status];
      const message = err.status === 409 ? err.message : `${e.name} (${err.detail})`;
      return reply.code(err.status).send({ code: e.code, name: e.name, message, fields: err.fields });
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).send({ message: status < 500 ? (err as Error).message : 'An unexpected error occurred' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ message: 'Not found' }));
  const one = <T>(v: T | undefined, reply: FastifyReply) => v ?? reply.code(404).send({ message: 'Not found' });
  type Body = Record<string, never>;
  app.get('/', async () => ({
    tagline: 'Welcome to kong',
    version: o.v.version,
    ...(o.v.features.adminEdition ? { edition: 'community' } : {}),
    hostname: 'sandbox',
    node_id: o.nodeId,
    timers: { running: 0, pending: 0 },
    plugins: { available_on_server: { prometheus: { version: o.v.version, priority: 13 } }, enabled_in_cluster: [...new Set((await store.plugins()).map((p) => p.name))] },
    lua_version: 'LuaJIT 2.1.0-20231117',
    configuration: { database: 'postgres' },
    pids: { master: process.pid, workers: [process.pid] },
  }));
  app.get('/services', async () => ({ data: await store.services(), next: null }));
  app.get<{ Params: { key: string } }>('/services/:key', async (req, reply) => one(await store.service(req.params.key), reply));
  app.post<{ Body: Body }>('/services', async (req, reply) => reply.code(201).send(await store.createService(req.body ?? {})));
  app.patch<{ Params: { key: string }; Body: Body }>('/services/:key', async (req) => store.updateService(req.params.key, req.body ?? {}));
  app.delete<{ Params: { key: string } }>('/services/:key', async (req, reply) => reply.code(204).send(await store.deleteService(req.params.key)));
  app.get('/routes', async () => ({ data: await store.routes(), next: null }));
  app.post<{ Body: Body }>('/routes', async (req, reply) => reply.code(201).send(await store.createRoute(req.body ?? {})));
  app.post<{ Params: { key: string }; Body: Body }>('/services/:key/routes', async (req, reply) =>
    reply.code(201).send(await store.createRoute({ ...(req.body ?? {}), service: { name: req.params.key } })),
  );
  app.delete<{ Params: { key: string } }>('/routes/:key', async (req, reply) => reply.code(204).send(await store.deleteRoute(req.params.key)));
  app.get('/plugins', async () => ({ data: await store.plugins(), next: null }));
  app.post<{ Body: Body }>('/plugins', async (req, reply) => reply.code(201).send(await store.createPlugin(req.body ?? {})));
  app.patch<{ Params: { id: string }; Body: Body }>('/plugins/:id', async (req) => store.updatePlugin(req.params.id, req.body ?? {}));
  app.delete<{ Params: { id: string } }>('/plugins/:id', async (req, reply) => reply.code(204).send(await store.deletePlugin(req.params.id)));
  app.addHook('onSend', async (req, _reply, payload) => {
    if (req.method !== 'GET') await o.refresh();
    return payload;
  });
  return app;
}
