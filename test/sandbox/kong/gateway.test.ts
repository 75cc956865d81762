/**
 * The sandbox gateway against a real PostgreSQL: Kong's migrations exit codes,
 * the lock trap, old and new versions on one database between `up` and
 * `finish`, the old one broken by `finish`, draining, /status, metrics, the
 * Admin API's errors and the fail-rate flag.
 */
import { Client } from 'pg';
import { runMigrationsProcess, type KongDatabase } from '../../../src/sandbox/kong/launcher';
import { gatewaysForThisFile } from '../../support/kongGateways';
import { anotherNodeHoldsTheLock, kongDatabase } from '../../support/kongDatabase';

const OLD = '3.8.0';
const NEW = '3.9.0';
const gateways = gatewaysForThisFile();
const start = gateways.start;

const migrations = (version: string, command: 'bootstrap' | 'up' | 'finish' | 'list' | 'status', db: KongDatabase, force = false) =>
  runMigrationsProcess({ version, command, db, force });
const json = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown>, via: res.headers.get('via') };
};
const post = (url: string, body: unknown) => json(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await sleep(100);
  }
}

test('the blue-green runbook on one database: up serves both versions, finish breaks the old one', async () => {
  const db = await kongDatabase(gateways.pg, 'runbook');
  expect((await migrations(OLD, 'list', db)).exitCode).toBe(3);
  expect((await migrations(OLD, 'bootstrap', db)).exitCode).toBe(0);
  expect((await migrations(OLD, 'list', db)).exitCode).toBe(0);
  expect((await migrations(NEW, 'list', db)).exitCode).toBe(5);

  const old = await start('old-0', OLD, db);
  expect((await json(`${old.statusUrl}/status/ready`)).status).toBe(200);
  expect((await post(`${old.adminUrl}/services`, { name: 'echo', url: gateways.echo.url })).status).toBe(201);
  expect((await post(`${old.adminUrl}/services/echo/routes`, { name: 'echo', paths: ['/echo'] })).status).toBe(201);
  const viaOld = await json(`${old.proxyUrl}/echo/hello?x=1`);
  expect(viaOld).toMatchObject({ status: 200, body: { method: 'GET', path: '/hello?x=1' }, via: `1.1 kong/${OLD}` });
  expect((await json(`${old.proxyUrl}/nowhere`)).body).toEqual({ message: 'no Route matched with those values' });

  // A new node before `up` is not ready and says why.
  const early = await start('early', NEW, db);
  expect(await json(`${early.statusUrl}/status/ready`)).toMatchObject({ status: 503, body: { message: expect.stringContaining("run 'kong migrations up'") } });
  await early.stop();

  const up = await migrations(NEW, 'up', db);
  expect(up.exitCode).toBe(0);
  expect(up.output).toContain('core migrated up to: 001_380_to_390 (pending)');
  expect((await migrations(NEW, 'list', db)).exitCode).toBe(4);
  const again = await migrations(NEW, 'up', db);
  expect(again).toMatchObject({ exitCode: 1, output: ["Error: Database has pending migrations; run 'kong migrations finish'", '  Run with --v (verbose) or --vv (debug) for more details'] });
  // as Kong prints it: by subsystem, the empty lists left out (kong/db/migrations/state.lua); the old version lists only what it knows
  const core = (...migrations: string[]) => [{ subsystem: 'core', namespace: 'kong.db.migrations.core', migrations }];
  expect(JSON.parse((await migrations(NEW, 'status', db)).output[0])).toEqual({ needs_bootstrap: false, executed_migrations: core('000_base'), pending_migrations: core('001_380_to_390') });
  expect(JSON.parse((await migrations(OLD, 'status', db)).output[0])).toEqual({ needs_bootstrap: false, executed_migrations: core('000_base') });

  // Both versions serve from the pending schema.
  const green = await start('new-0', NEW, db);
  expect((await json(`${green.statusUrl}/status/ready`)).status).toBe(200);
  expect(await json(`${green.proxyUrl}/echo/x`)).toMatchObject({ status: 200, via: `1.1 kong/${NEW}` });
  expect((await json(`${old.proxyUrl}/echo/x`)).status).toBe(200);
  expect((await json(`${green.adminUrl}/services/echo`)).body).toMatchObject({ name: 'echo', protocol: 'http', host: '127.0.0.1' });

  // 'finish' with the old version finishes nothing it does not know, and says so, as Kong does
  expect(await migrations(OLD, 'finish', db)).toMatchObject({ exitCode: 0, output: ['No pending migrations to finish'] });
  expect((await migrations(NEW, 'list', db)).exitCode).toBe(4);
  const finish = await migrations(NEW, 'finish', db);
  expect(finish.exitCode).toBe(0);
  expect((await migrations(NEW, 'list', db)).exitCode).toBe(0);
  const broken = await eventually(() => json(`${old.statusUrl}/status/ready`), (r) => r.status === 503);
  expect(broken.body.message).toMatch(/failed to load configuration/);
  expect((await json(`${old.proxyUrl}/echo/x`)).status).toBe(503);
  expect((await json(`${green.proxyUrl}/echo/x`)).status).toBe(200);

  // The old version started against the finished schema is not ready either.
  const late = await start('old-late', OLD, db);
  expect((await json(`${late.statusUrl}/status/ready`)).status).toBe(503);
});

test('the lock trap: up exits 0 without migrating while another node holds the lock; list tells', async () => {
  const db = await kongDatabase(gateways.pg, 'lock');
  await migrations(OLD, 'bootstrap', db);
  const [up] = await Promise.all([migrations(NEW, 'up', db), anotherNodeHoldsTheLock({ connectionString: gateways.pg.url('lock') })]);
  expect(up).toMatchObject({ exitCode: 0, output: expect.arrayContaining(['aborted: another node is performing database changes']) });
  expect((await migrations(NEW, 'list', db)).exitCode).toBe(5);
  expect((await migrations(NEW, 'up', db)).exitCode).toBe(0);
  expect((await migrations(NEW, 'list', db)).exitCode).toBe(4);
  // finish (and bootstrap) do not wait for the lock (no_wait, kong/cmd/utils/migrations.lua): aborted at once, still pending
  const c = new Client({ connectionString: gateways.pg.url('lock') });
  await c.connect();
  await c.query(`INSERT INTO locks (key, owner, ttl) VALUES ('migrations', 'another-node', now() + interval '10 minutes')`);
  expect(await migrations(NEW, 'finish', db)).toMatchObject({ exitCode: 0, output: ['aborted: another node is performing database changes'] });
  await c.query(`DELETE FROM locks`);
  await c.end();
  expect((await migrations(NEW, 'list', db)).exitCode).toBe(4);
});

test('status, draining, metrics, Admin API errors and a failing version', async () => {
  const db = await kongDatabase(gateways.pg, 'status');
  await migrations(NEW, 'bootstrap', db);
  const n = await start('status-0', NEW, db);
  const flaky = await start('flaky-0', NEW, db, 0.2);
  expect(await post(`${n.adminUrl}/services`, { name: 'bad', url: 'ftp://x' })).toMatchObject({
    status: 400,
    body: { code: 2, name: 'schema violation', message: 'schema violation (url: protocol must be http or https)', fields: { url: 'protocol must be http or https' } },
  });
  // a field Kong's schema does not have is refused, as Kong refuses it
  expect(await post(`${n.adminUrl}/services`, { name: 'typo', url: gateways.echo.url, retry: 3 })).toMatchObject({
    status: 400,
    body: { code: 2, name: 'schema violation', message: 'schema violation (retry: unknown field)', fields: { retry: 'unknown field' } },
  });
  expect(await post(`${n.adminUrl}/plugins`, { name: 'prometheus', config: { status_codes: true } })).toMatchObject({
    status: 400,
    body: { message: 'schema violation (config.status_codes: unknown field)', fields: { config: { status_codes: 'unknown field' } } },
  });
  // per-status and latency metrics are off in Kong's prometheus plugin until its config turns them on
  expect((await post(`${n.adminUrl}/plugins`, { name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true } })).status).toBe(201);
  expect((await post(`${n.adminUrl}/routes`, { name: 'r', paths: ['/a'], service: { name: 'missing' } })).body).toMatchObject({ fields: { service: expect.any(String) } });
  await post(`${n.adminUrl}/services`, { name: 'echo', url: `${gateways.echo.url}/base` });
  await post(`${n.adminUrl}/routes`, { name: 'echo', paths: ['/api'], service: { name: 'echo' } });
  expect(await post(`${n.adminUrl}/services`, { name: 'echo', url: gateways.echo.url })).toMatchObject({ status: 409, body: { code: 5, name: 'unique constraint violation', fields: { name: 'echo' } } });
  expect((await json(`${n.proxyUrl}/api/v1`)).body).toMatchObject({ path: '/base/v1' });

  const codes = { 200: 0, 500: 0 } as Record<number, number>;
  const first = await eventually(() => json(`${flaky.proxyUrl}/api/v1`), (r) => r.status !== 404); // its next refresh sees the route
  codes[first.status] += 1;
  for (let i = 0; i < 99; i++) codes[(await fetch(`${flaky.proxyUrl}/api/v1`)).status] += 1;
  expect(codes[500]).toBeGreaterThanOrEqual(19);
  expect(codes[500]).toBeLessThanOrEqual(20);
  const metrics = await (await fetch(`${flaky.statusUrl}/metrics`)).text();
  expect(metrics).toMatch(/kong_http_requests_total\{service="echo",route="echo",code="500",source="kong",workspace="default",consumer=""\} (19|20)/);
  expect(metrics).toMatch(/kong_request_latency_ms_bucket\{service="echo",route="echo",workspace="default",le="\+Inf"\} 100/);

  const status = await json(`${n.statusUrl}/status`);
  expect(status.body).toMatchObject({ database: { reachable: true }, server: { connections_active: expect.any(Number), connections_writing: 1 } });
  expect((await post(`${n.statusUrl}/status/ready`, { status: 'drain' })).status).toBe(400);
  expect((await post(`${n.statusUrl}/status/ready`, { status: 'draining' })).status).toBe(204);
  expect(await json(`${n.statusUrl}/status/ready`)).toMatchObject({ status: 503, body: { message: 'draining' } });
  expect((await json(`${n.proxyUrl}/api/v1`)).status).toBe(200); // draining stops new traffic at the balancer, not here
});

test('what each version has: /status/ready from 3.3, POST draining from 3.9 (405 before), the Admin API\'s edition from 3.6', async () => {
  const db = await kongDatabase(gateways.pg, 'versions');
  await migrations('3.2.2', 'bootstrap', db);
  const [v32, v38] = await Promise.all([start('v32-0', '3.2.2', db), start('v38-0', '3.8.1', db)]);
  expect(await json(`${v32.statusUrl}/status/ready`)).toMatchObject({ status: 404, body: { message: 'Not found' } });
  expect(await post(`${v38.statusUrl}/status/ready`, { status: 'draining' })).toMatchObject({ status: 405, body: { message: 'Method not allowed' } });
  expect((await json(`${v38.statusUrl}/status/ready`)).status).toBe(200);
  expect((await json(`${v32.adminUrl}/`)).body).not.toHaveProperty('edition');
  expect((await json(`${v38.adminUrl}/`)).body).toMatchObject({ version: '3.8.1', edition: 'community' });
});
