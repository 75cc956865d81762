/** The upstream behind the sandbox gateways: answers every request with what it received, as JSON. */
import Fastify, { type FastifyInstance } from 'fastify';

export async function startEchoUpstream(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const app: FastifyInstance = Fastify({ keepAliveTimeout: 60_000 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.all('/*', async (req) => ({ method: req.method, path: req.url, body: req.body ?? null }));
  await app.listen({ host: '127.0.0.1', port });
  const { port: bound } = app.server.address() as { port: number };
  return { url: `http://127.0.0.1:${bound}`, close: () => app.close() };
}
