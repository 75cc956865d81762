/**
 * /ui: the web console, static files built by `npm run build:console` into
 * dist/console. Public like /docs: the console itself asks for an API token
 * and calls the API with it. Any other path (the console's own pages, e.g.
 * /ui/upgrades/<id>) gets index.html; a missing asset is a 404. Nothing is loaded from elsewhere:
 * the content security policy allows this origin only.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ApiError, notFound } from '../errors';

export const CONSOLE_DIR = resolve(__dirname, '..', '..', '..', 'dist', 'console');

const POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export async function consoleRoutes(app: FastifyInstance, { dir = CONSOLE_DIR }: { dir?: string } = {}): Promise<void> {
  app.get('/ui', { schema: { hide: true } }, (_request, reply) => reply.redirect('/ui/'));
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/ui/*', { schema: { hide: true } }, async () => {
      throw new ApiError(503, `the console is not built (no ${join(dir, 'index.html')}): run npm run build:console`);
    });
    return;
  }
  await app.register(
    async (ui) => {
      await ui.register(fastifyStatic, {
        root: dir,
        // index.html is what the console's own paths answer: never cached; the hashed assets for a year
        setHeaders: (reply, path) => {
          reply.header('content-security-policy', POLICY);
          reply.header('cache-control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
        },
      });
      ui.setNotFoundHandler((request, reply) => {
        const path = request.url.split('?')[0];
        if (request.method !== 'GET' || path.startsWith('/ui/assets/')) return reply.code(404).send(notFound(`no such file: ${path}`).body());
        return reply.header('content-security-policy', POLICY).header('cache-control', 'no-cache').sendFile('index.html');
      });
    },
    { prefix: '/ui' },
  );
}
