/** /ui serves the built console (index.html for its pages, a 404 for a missing asset, this origin only), and /v1/me who a token is. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastify from 'fastify';
import { installErrorHandling } from '../../src/api/errors';
import { consoleRoutes } from '../../src/api/routes/console';
import { buildServer } from '../../src/api/server';
import type { Client } from '@temporalio/client';
import { call, makeTargets, serviceToken, testConfig } from './harness';

async function consoleOn(dir: string) {
  const app = fastify();
  installErrorHandling(app);
  await app.register(consoleRoutes, { dir });
  return app;
}

describe('/ui', () => {
  const built = mkdtempSync(join(tmpdir(), 'console-'));
  mkdirSync(join(built, 'assets'));
  writeFileSync(join(built, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(join(built, 'assets', 'index-abc.js'), 'console.log(1)');

  test('index.html for the console and its pages, with a policy that allows this origin only; assets cached for good', async () => {
    const app = await consoleOn(built);
    expect((await app.inject('/ui')).headers.location).toBe('/ui/');
    for (const path of ['/ui/', '/ui/upgrades', '/ui/upgrades/orders.0b6f0000-0000-4000-8000-000000000000']) {
      const res = await app.inject(path);
      expect([path, res.statusCode, res.body]).toEqual([path, 200, '<!doctype html><div id="root"></div>']);
      expect(res.headers['content-security-policy']).toContain("default-src 'self'; script-src 'self'");
      expect(res.headers['cache-control']).toBe('no-cache');
    }
    const asset = await app.inject('/ui/assets/index-abc.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await app.inject('/ui/assets/index-old.js');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { status: 404, code: 'NOT_FOUND', message: 'no such file: /ui/assets/index-old.js' } });
    await app.close();
  });

  test('not built: 503 saying how to build it', async () => {
    const app = await consoleOn(mkdtempSync(join(tmpdir(), 'console-none-')));
    const res = await app.inject('/ui/');
    expect(res.statusCode).toBe(503);
    expect(res.json().error.message).toMatch(/^the console is not built \(no .*index\.html\): run npm run build:console$/);
    await app.close();
  });
});

describe('/v1/me', () => {
  test("the token's principal and roles; no token is 401, a service token 403", async () => {
    const { targets, names } = makeTargets({ a: 'emqx' });
    // the route reads nothing from Temporal: no client is needed
    const app = await buildServer({ client: { options: { namespace: 'default' } } as unknown as Client, config: testConfig(targets, 'unused') });
    expect((await call(app, 'GET', '/v1/me', { as: 'lead' })).json).toEqual({ principal: 'lead', roles: ['operator', 'approver'] });
    expect((await call(app, 'GET', '/v1/me')).status).toBe(401);
    const service = await call(app, 'GET', '/v1/me', { headers: { authorization: `Bearer ${serviceToken(names.a)}` } });
    expect(service.status).toBe(403);
    const openapi = (await call(app, 'GET', '/docs/json')).json;
    expect(Object.keys(openapi.paths)).toContain('/v1/me');
    expect(Object.keys(openapi.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
    await app.close();
  });
});
