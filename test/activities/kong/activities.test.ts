/**
 * Kong's runbook step by step through cutover's activities, on the local
 * sandbox: a real PostgreSQL, sandbox gateways behind nginx, the Admin API
 * router. What a user would notice: writes answered 423 naming the upgrade,
 * the backup on disk, `up` recognised when done and caught by `list` when the
 * lock trap made it exit 0 without migrating, green ready, smoke requests,
 * a write that bypassed the freeze seen in the fingerprint, blue broken by
 * `finish`, counters from the gateways' metrics.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, type ClientConfig } from 'pg';
import { releaseName } from '../../../src/domain/upgrade';
import { planMigrations } from '../../../src/domain/kong/migrations';
import { exec, failure } from '../../support/activityHarness';
import { eventually } from '../../support/temporal';
import { fetchOnNewConnection } from '../../../src/runtime/newConnection';
import { anotherNodeHoldsTheLock } from '../../support/kongDatabase';
import { startKongStack, TARGET, type KongStack } from '../../support/kongSandboxStack';

const BLUE = releaseName(TARGET, '3.8.0');
const GREEN = { name: releaseName(TARGET, '3.9.0'), version: '3.9.0' };
const UPGRADE = `${TARGET}.00000000-0000-4000-8000-000000000001`;
let s: KongStack;

beforeAll(async () => {
  s = await startKongStack();
}, 90_000);
afterAll(() => s?.stop());

const admin = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${s.ports.admin}${path}`, init);
const postJson = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const kongDb = () => ({ connectionString: `postgres://cutover:${s.kong.database.password}@127.0.0.1:${s.ports.postgres}/kong` });

const measure = (query: string, vars: Record<string, string>) =>
  s.kongAnalysis.measure({
    target: TARGET,
    check: { name: 'm', provider: 'kong', query, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4, onInconclusive: 'pause' },
    vars,
    signal: AbortSignal.timeout(5000),
  });

test('the runbook through the activities', async () => {
  const a = s.activities;
  // Before any request the plugin has written no kong_http_requests_total: with its config on, that is no data, not an error.
  expect(await measure('requests@{{blue}}', { blue: BLUE })).toBe(0);
  expect(await measure('error-rate@{{blue}}', { blue: BLUE })).toBeUndefined();
  // With status_code_metrics off (Kong's default) it never will: the provider says so, naming the setting.
  const { data: plugins } = (await (await admin('/plugins')).json()) as { data: { id: string }[] };
  const patch = (config: object) => fetch(`http://127.0.0.1:${s.ports.admin}/plugins/${plugins[0]!.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config }) });
  expect((await patch({ status_code_metrics: false })).status).toBe(200);
  await expect(measure('error-rate@{{blue}}', { blue: BLUE })).rejects.toThrow(
    `Kong exports no kong_http_requests_total: the prometheus plugin (${plugins[0]!.id}) is configured without status_code_metrics (off by default); set config.status_code_metrics: true (PATCH /plugins/<id>) to measure this`,
  );
  expect((await patch({ status_code_metrics: true })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 500)); // every node refreshes its configuration
  const proxied = await fetchOnNewConnection(`http://127.0.0.1:${s.ports.proxy}/hello`);
  expect(proxied.headers.get('via')).toBe('1.1 kong/3.8.0');
  expect(await proxied.json()).toMatchObject({ path: '/hello' });

  const state = await exec(a.readKongMigrations, { target: TARGET, blueVersion: '3.8.0', greenVersion: '3.9.0' });
  expect(planMigrations(state.blue, state.green, { finishPending: false, blueVersion: '3.8.0', greenVersion: '3.9.0' })).toEqual({
    action: 'up',
    migrations: [{ subsystem: 'core', migrations: ['001_380_to_390'] }],
  });

  // 1. Admin API writes frozen, reads pass.
  await exec(a.freezeKongAdmin, { target: TARGET, upgradeId: UPGRADE, reason: 'upgrade to Kong 3.9.0' });
  const refused = await postJson(`http://127.0.0.1:${s.ports.admin}/services`, { name: 'late', url: 'http://127.0.0.1:9' });
  expect(refused.status).toBe(423);
  expect(((await refused.json()) as { message: string }).message).toContain(UPGRADE);
  expect((await admin('/services')).status).toBe(200);
  const { fingerprint } = await exec(a.kongConfigFingerprint, { target: TARGET });

  // 2. pg_dump, kept when retried (its file, retention and restore: the next test).
  const dump = await exec(a.backupKongDatabase, { target: TARGET, upgradeId: UPGRADE });
  expect(dump.bytes).toBeGreaterThan(1000);
  expect(statSync(dump.path).size).toBe(dump.bytes);
  expect(await exec(a.backupKongDatabase, { target: TARGET, upgradeId: UPGRADE })).toEqual({ ...dump, reused: true });

  // 3. The lock trap: another node holds the lock, `up` exits 0 without migrating, `list` catches it.
  const [trapped] = await Promise.all([failure(exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' })), anotherNodeHoldsTheLock(kongDb())]);
  expect(trapped.type).toBe('MigrationsNotApplied');
  expect(trapped.nonRetryable).toBeFalsy();
  expect(trapped.message).toMatch(/exited 0 but 'list' says new migrations available \(aborted: another node/);
  const up = await exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' });
  expect(up).toMatchObject({ ran: true, exitCode: 0, list: { exitCode: 4 } });
  expect(up.output).toContain('core migrated up to: 001_380_to_390 (pending)');
  expect(await exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' })).toMatchObject({ ran: false, list: { exitCode: 4 } });
  expect((await exec(a.kongConfigFingerprint, { target: TARGET })).fingerprint).toBe(fingerprint);

  // 4-5. Y beside X on the same database, ready, answering the smoke requests.
  await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, replicas: 2 });
  await exec(a.waitWorkloadReady, { target: TARGET, release: GREEN.name });
  const ready = await exec(a.waitKongNodesReady, { target: TARGET, release: GREEN.name, replicas: 2 });
  expect(ready).toMatchObject({ ready: 2, nodes: [{ ready: true, message: 'ready' }, { ready: true, message: 'ready' }] });
  expect(await exec(a.smokeKong, { target: TARGET, release: GREEN.name, requests: [{ method: 'GET', path: '/health', status: 200 }] })).toEqual({ checked: 2 });
  const smoke = await failure(exec(a.smokeKong, { target: TARGET, release: GREEN.name, requests: [{ method: 'GET', path: '/x', status: 204 }] }));
  expect(smoke.message).toContain(`GET /x on ${GREEN.name}-0: 200, expected 204`);

  // Counters from green's own metrics.
  const green = { green: GREEN.name };
  expect(await measure('requests@{{green}}', green)).toBe(4); // both smoke runs on both nodes
  expect(await measure('error-rate@{{green}}', green)).toBe(0);
  expect(await measure('error-rate@{{green}}[200ms]', green)).toBeUndefined(); // no requests: no data

  // A write that bypasses the freeze (straight to a node) changes the fingerprint.
  const node = (await s.kong.kindPort.nodes(BLUE))[0];
  const direct = await postJson(`${node.proxyUrl.replace(/:\d+$/, '')}:${(await s.sandbox.read((st) => st.releases[BLUE].ports[0].admin))}/services`, { name: 'bypass', url: 'http://127.0.0.1:9' });
  expect(direct.status).toBe(201);
  expect((await exec(a.kongConfigFingerprint, { target: TARGET })).fingerprint).not.toBe(fingerprint);

  // 9. finish: X can no longer use the database.
  await exec(a.setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } });
  const finish = await exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'finish' });
  expect(finish).toMatchObject({ ran: true, list: { exitCode: 0 } });
  const blueReady = await s.kong.kindPort.nodes(BLUE);
  // Each gateway notices at its next database refresh.
  for (const n of blueReady) await eventually(async () => (await fetch(`${n.statusUrl}/status/ready`)).status === 503, 10_000);
  expect((await fetchOnNewConnection(`http://127.0.0.1:${s.ports.proxy}/after`)).headers.get('via')).toBe('1.1 kong/3.9.0');

  // 10. drain X (3.8: no POST draining, out of the router already; its requests end), remove it, unfreeze.
  const { drained } = await exec(a.drainKongNodes, { target: TARGET, release: BLUE, version: '3.8.0', timeoutMs: 60_000 });
  expect(drained).toEqual([0, 1].map((i) => ({ pod: `${BLUE}-${i}`, version: '3.8.0', draining: 'out of the router', connections: expect.any(Number), inFlight: 0, ended: 'idle' })));
  for (const n of blueReady) expect(await (await fetch(`${n.statusUrl}/status/ready`)).json()).toMatchObject({ message: expect.stringMatching(/failed to load configuration/) });
  await exec(a.deleteWorkload, { target: TARGET, release: BLUE });
  expect(await exec(a.unfreezeKongAdmin, { target: TARGET, upgradeId: UPGRADE })).toEqual({ unfrozen: true });
  expect((await postJson(`http://127.0.0.1:${s.ports.admin}/services`, { name: 'after', url: 'http://127.0.0.1:9' })).status).toBe(201);
});

test('the backup: 0600, its SHA-256 beside it, the older ones past the retention removed, and pg_restore into a scratch database gives back the configuration rows', async () => {
  const dir = s.target.kong!.backupDir!;
  for (const f of readdirSync(dir)) rmSync(join(dir, f));
  s.target.kong!.backupRetention = { keep: 2, maxAge: '7d' };
  const day = 86_400_000;
  const earlier = (n: number, ageDays: number, target = TARGET) => {
    const file = `${target}-${target}.00000000-0000-4000-8000-00000000010${n}.dump`;
    writeFileSync(join(dir, file), `backup ${n}`);
    writeFileSync(join(dir, `${file}.sha256`), `${createHash('sha256').update(`backup ${n}`).digest('hex')}  ${file}\n`);
    const at = new Date(Date.now() - ageDays * day);
    for (const f of [file, `${file}.sha256`]) utimesSync(join(dir, f), at, at);
    return file;
  };
  const [oneDay, twoDays, tenDays, otherTarget] = [earlier(1, 1), earlier(2, 2), earlier(3, 10), earlier(4, 20, 'sandbox-kong-b')];
  writeFileSync(join(dir, 'notes.txt'), 'not a backup');

  const upgradeId = `${TARGET}.00000000-0000-4000-8000-000000000200`;
  const b = await exec(s.activities.backupKongDatabase, { target: TARGET, upgradeId });
  expect(statSync(b.path).mode & 0o777).toBe(0o600);
  expect(statSync(`${b.path}.sha256`).mode & 0o777).toBe(0o600);
  expect(b.sha256).toBe(createHash('sha256').update(readFileSync(b.path)).digest('hex'));
  // sha256sum -c in the backup directory checks it
  expect((await run('sha256sum', ['-c', `${b.file}.sha256`], { cwd: dir })).stdout).toBe(`${b.file}: OK\n`);
  expect(b).toMatchObject({ reused: false, host: hostname(), bytes: statSync(b.path).size });
  expect(b.kept.map((k) => k.file)).toEqual([b.file, oneDay]);
  expect(b.removed.sort()).toEqual([twoDays, tenDays].sort());
  expect(readdirSync(dir).sort()).toEqual([b.file, `${b.file}.sha256`, oneDay, `${oneDay}.sha256`, otherTarget, `${otherTarget}.sha256`, 'notes.txt'].sort());

  // the README's restore: into a scratch database, then compare
  const scratch = `kong_restore_${Date.now()}`;
  await query(kongDb(), `CREATE DATABASE ${scratch}`);
  const url = (db: string) => `postgres://cutover:${s.kong.database.password}@127.0.0.1:${s.ports.postgres}/${db}`;
  await run('pg_restore', ['--no-owner', '--no-privileges', `--dbname=${url(scratch)}`, b.path]);
  for (const table of ['services', 'routes', 'schema_meta']) {
    const rows = (db: string) => query({ connectionString: url(db) }, `SELECT * FROM ${table} ORDER BY 1`);
    const restored = await rows(scratch);
    expect(restored.length).toBeGreaterThan(0);
    expect(restored).toEqual(await rows('kong'));
  }
});

const run = promisify(execFile);

async function query(config: ClientConfig, sql: string): Promise<unknown[]> {
  const c = new Client(config);
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}
