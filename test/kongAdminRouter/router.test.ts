/**
 * The Admin API freeze router as a user deploys it: its own process (the
 * image's other command), configured by environment, in front of an Admin
 * API, reading the freeze that cutover's worker sets in a real PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withClient } from '../../src/activities/pg';
import { freeze, unfreeze } from '../../src/activities/kong/database';
import { projectRoot } from '../../src/runtime/binaries';
import { freePort } from '../../src/runtime/freePort';
import { PostgresServer } from '../../src/sandbox/postgres';
import { killOnExit } from '../../src/runtime/childProcess';
import { exitProcess } from '../../src/sandbox/process';

const UPGRADE = 'kong-prod.00000000-0000-4000-8000-000000000009';
const MAIN = join(projectRoot, 'src', 'bin', 'kongAdminRouter.ts');

let pg: PostgresServer;
let parent: string;
let admin: Server;
const received: { method: string; url: string; body: string }[] = [];
let router: { child: ChildProcess; url: string; metricsUrl: string; logs: () => Record<string, unknown>[] } | undefined;

/** Kong's Admin API as far as the router can tell: it answers and records what reached it. */
async function startAdminApi(): Promise<string> {
  admin = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, body });
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [], next: null }));
    });
  });
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(admin.address() as { port: number }).port}`;
}

function run(env: NodeJS.ProcessEnv): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { cwd: projectRoot, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

beforeAll(async () => {
  parent = mkdtempSync(join(tmpdir(), 'cutover-admin-router-'));
  chmodSync(parent, 0o755);
  pg = await PostgresServer.start({ dir: join(parent, 'pg') });
  await pg.ensureDatabase('kong');
  const upstream = await startAdminApi();
  const [port, metricsPort] = [await freePort(), await freePort()];
  const r = run({
    CUTOVER_ADMIN_ROUTER_DATABASE_URL: pg.url('kong'),
    CUTOVER_ADMIN_ROUTER_UPSTREAMS: upstream,
    CUTOVER_ADMIN_ROUTER_PORT: String(port),
    CUTOVER_ADMIN_ROUTER_METRICS: `127.0.0.1:${metricsPort}`,
    LOG_LEVEL: 'info',
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${url}/healthz`).then((res) => res.ok, () => false))) {
    if (Date.now() > deadline || r.child.exitCode !== null) throw new Error(`the router did not start: ${r.out()}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  const logs = () => r.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  router = { child: r.child, url, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, logs };
}, 60_000);

afterAll(async () => {
  if (router) await exitProcess(router.child, 'SIGTERM');
  await new Promise((r) => admin?.close(r));
  await pg?.stop();
  if (parent) rmSync(parent, { recursive: true, force: true });
});

const post = (path: string, body: unknown) => fetch(`${router!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('while an upgrade froze writes: 423 naming it and nothing reaches the Admin API; reads pass; after the unfreeze writes pass', async () => {
  expect(await (await fetch(`${router!.url}/healthz`)).json()).toEqual({ status: 'ok' });
  // before any upgrade (no freeze table yet) a write passes
  expect((await post('/services', { name: 'before', url: 'http://echo:80' })).status).toBe(201);

  await withClient(pg.url('kong'), (c) => freeze(c, UPGRADE, 'upgrade to Kong 3.9.0'));
  const before = received.length;
  const refused = await post('/services', { name: 'during', url: 'http://echo:80' });
  expect(refused.status).toBe(423);
  const body = (await refused.json()) as { message: string; upgrade: string };
  expect(body.upgrade).toBe(UPGRADE);
  expect(body.message).toMatch(new RegExp(`^Admin API writes are frozen by cutover upgrade ${UPGRADE} \\(upgrade to Kong 3.9.0\\) since \\S+Z`));
  for (const method of ['PUT', 'PATCH', 'DELETE']) expect((await fetch(`${router!.url}/services/during`, { method })).status).toBe(423);
  expect(received.length).toBe(before);
  // reads pass, a CORS preflight (Kong Manager) too
  expect((await fetch(`${router!.url}/services?size=10`)).status).toBe(200);
  expect((await fetch(`${router!.url}/routes`, { method: 'OPTIONS' })).status).toBe(200);
  expect(received.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual(['GET /services?size=10', 'OPTIONS /routes']);

  await withClient(pg.url('kong'), (c) => unfreeze(c, UPGRADE));
  const after = await post('/services', { name: 'after', url: 'http://echo:80' });
  expect(after.status).toBe(201);
  expect(received.at(-1)).toEqual({ method: 'POST', url: '/services', body: JSON.stringify({ name: 'after', url: 'http://echo:80' }) });

  // pino JSON lines: the refusals name the upgrade
  const refusals = router!.logs().filter((l) => l.msg === 'write refused: frozen by an upgrade');
  expect(refusals).toHaveLength(4);
  expect(refusals[0]).toMatchObject({ upgrade: UPGRADE, method: 'POST', url: '/services', service: 'cutover-admin-router' });
  // and Prometheus counts them
  const metrics = await (await fetch(router!.metricsUrl)).text();
  expect(metrics).toContain('cutover_admin_router_requests_total{kind="write",status="423"} 4');
  expect(metrics).toContain('cutover_admin_router_requests_total{kind="write",status="201"} 2');
  expect(metrics).toContain('cutover_admin_router_requests_total{kind="read",status="200"} 2');
}, 30_000);

test('a bad environment stops it at once with the variable and the fix', async () => {
  const r = run({ CUTOVER_ADMIN_ROUTER_DATABASE_URL: 'kong-db:5432', CUTOVER_ADMIN_ROUTER_UPSTREAMS: 'http://kong:8001/', CUTOVER_ADMIN_ROUTER_PORT: '80000' });
  expect(await r.exited).toBe(2);
  const out = r.out();
  expect(out).toContain('CUTOVER_ADMIN_ROUTER_DATABASE_URL="kong-db:5432" must be a postgres:// URL. Set it to the Kong database as a URL, e.g. postgres://');
  expect(out).toContain('CUTOVER_ADMIN_ROUTER_UPSTREAMS="http://kong:8001/" must be http(s) URLs without a trailing slash, comma-separated');
  expect(out).toContain('CUTOVER_ADMIN_ROUTER_PORT="80000"');
  const missing = run({});
  expect(await missing.exited).toBe(2);
  expect(missing.out()).toMatch(/CUTOVER_ADMIN_ROUTER_DATABASE_URL=undefined .*Set it to the Kong database/);
}, 30_000);

test('with the Kong database unreachable, writes are held (503, it cannot tell whether they are frozen) and reads pass', async () => {
  await pg.stop();
  const held = await post('/services', { name: 'blind', url: 'http://echo:80' });
  expect(held.status).toBe(503);
  expect(((await held.json()) as { message: string }).message).toMatch(/^cannot tell whether a cutover upgrade froze Admin API writes: the Kong database is unreachable/);
  expect((await fetch(`${router!.url}/services`)).status).toBe(200);
}, 30_000);
