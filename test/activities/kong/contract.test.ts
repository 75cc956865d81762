/**
 * The contract with the real Kong, from test/fixtures/contracts/kong/<version>/
 * (what Kong 3.2 to 3.9 print, each fixture naming the source files and tags
 * it was derived from): cutover's own readers (the Kong activities, their
 * node client, the metrics parser) read each fixture as the fixture says a
 * user would see it, and the sandbox gateway of the same version answers the
 * same requests with the same answers, so neither can drift from Kong.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApplicationFailure } from '@temporalio/common';
import { Client } from 'pg';
import { createKongActivities } from '../../../src/activities/kong';
import { nodeApi } from '../../../src/activities/kong/nodeApi';
import { targetLookup, type TargetConfig } from '../../../src/config/targets';
import type { MigrationsStatus } from '../../../src/domain/kong/answers';
import type { CommandRun, KongNodeAddress } from '../../../src/domain/kong/local';
import { parseKongMetrics } from '../../../src/domain/kong/metrics';
import { listExitOf, planMigrations, type MigrationPlan, type MigrationsCommand } from '../../../src/domain/kong/migrations';
import type { LocalWorkloads } from '../../../src/domain/platform';
import { runMigrationsProcess, type GatewayNode, type KongDatabase } from '../../../src/sandbox/kong/launcher';
import { runMigrationsCommand } from '../../../src/sandbox/kong/migrations';
import { gatewayVersion } from '../../../src/sandbox/kong/schema';
import { fetchOnNewConnection } from '../../../src/runtime/newConnection';
import { exec } from '../../support/activityHarness';
import { gatewaysForThisFile } from '../../support/kongGateways';
import { kongDatabase } from '../../support/kongDatabase';

const DIR = join(__dirname, '../../fixtures/contracts/kong');
const VERSIONS = readdirSync(DIR).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
const fixture = <T>(version: string, name: string): T => JSON.parse(readFileSync(join(DIR, version, name), 'utf8')) as T;
const has = (version: string, name: string) => readdirSync(join(DIR, version)).includes(name);

// ---- migrations status and list ---------------------------------------------------------------

interface Printed {
  list: number;
  status: MigrationsStatus;
}
interface MigrationsState {
  blue: string | null;
  green: string;
  prints: Record<string, Printed>;
  /** What plan decides (a refusal's reason is described, not quoted); with finishPending where it differs. */
  plan: { action: MigrationPlan['action']; reason?: string; migrations?: unknown; withFinishPending?: MigrationPlan } | null;
}
type MigrationsFixture = { source: string; derivedFrom: string[]; states: Record<string, MigrationsState> };

/** Cutover's Kong activities for a local target whose workloads offer `kindPort`. */
function activitiesWithPort(kindPort: unknown) {
  const target: TargetConfig = { name: 'edge', kind: 'kong', local: { cluster: 'edge', version: '3.9.3', replicas: 1, ports: {} }, kong: { database: { host: 'h', user: 'u', password: { env: 'P' } } } };
  return createKongActivities({ targets: targetLookup([target]), sandboxes: new Map([['edge', { kindPort } as unknown as LocalWorkloads]]) });
}

/** Cutover's Kong activities on a platform whose `kong migrations` answers as `run` says. */
const activitiesOn = (run: (version: string, command: MigrationsCommand) => Promise<CommandRun>) =>
  activitiesWithPort({ runMigrations: (i: { version: string; command: MigrationsCommand }) => run(i.version, i.command), nodes: async () => [] });

test.each([
  ['no port', undefined],
  ["another kind's port", { publish: async () => undefined }],
])('a local Kong target whose sandbox offers %s fails for good, naming the worker that runs it', async (_, port) => {
  await expect(exec(activitiesWithPort(port).readKongMigrations, { target: 'edge', blueVersion: '3.8.1', greenVersion: '3.9.3' })).rejects.toMatchObject({
    type: 'Misconfigured',
    nonRetryable: true,
    message: "target 'edge' is a local sandbox not run by this worker (only the worker of npm start runs it)",
  });
});

/**
 * The assertions each state must pass, whoever answers: cutover reads every
 * version's status through its schema, `list` exits with what that status
 * implies, and plan decides what the state calls for.
 */
async function assertState(name: string, state: MigrationsState, run: (version: string, command: MigrationsCommand) => Promise<CommandRun>): Promise<void> {
  const a = activitiesOn(run);
  for (const version of Object.keys(state.prints)) {
    const read = await exec(a.readKongMigrations, { target: 'edge', blueVersion: version, greenVersion: version });
    const list = await run(version, 'list');
    expect({ state: name, version, list: list.exitCode }).toEqual({ state: name, version, list: listExitOf(read.green) });
    expect({ state: name, version, list: list.exitCode }).toEqual({ state: name, version, list: state.prints[version]!.list });
  }
  if (!state.plan) return;
  const { blue, green } = await exec(a.readKongMigrations, { target: 'edge', blueVersion: state.blue ?? state.green, greenVersion: state.green });
  const o = { finishPending: false, blueVersion: state.blue ?? state.green, greenVersion: state.green };
  // a refusal's reason is described in the fixture, not quoted
  const { withFinishPending, ...plan } = state.plan;
  delete plan.reason;
  expect({ state: name, plan: planMigrations(blue, green, o) }).toMatchObject({ state: name, plan });
  if (withFinishPending) expect(planMigrations(blue, green, { ...o, finishPending: true })).toEqual(withFinishPending);
}

const printedBy = (prints: Record<string, Printed>) => async (version: string, command: MigrationsCommand): Promise<CommandRun> =>
  command === 'status' ? { exitCode: 0, output: [JSON.stringify(prints[version]!.status)] } : { exitCode: prints[version]!.list, output: [] };

const STATES = ['not-bootstrapped', 'bootstrapped', 'pending-this-upgrade', 'pending-earlier-upgrade', 'finished', 'missing'];

describe.each(VERSIONS.filter((v) => has(v, 'migrations.json')))("what Kong %s prints for 'kong migrations status' and 'list'", (version) => {
  const f = fixture<MigrationsFixture>(version, 'migrations.json');
  test('names its sources and holds every state cutover meets, the core and a plugin subsystem', () => {
    expect(f.derivedFrom.join(' ')).toMatch(new RegExp(`kong/db/migrations/state\\.lua@${version.replaceAll('.', '\\.')} lines`));
    expect(Object.keys(f.states)).toEqual(STATES);
    const subsystems = new Set(Object.values(f.states).flatMap((s) => Object.values(s.prints).flatMap((p) => (p.status.executed_migrations ?? []).map((x) => x.subsystem))));
    expect(subsystems.has('core') && subsystems.size > 1).toBe(true);
  });
  test.each(STATES)('%s: cutover reads it, list agrees, plan decides as the state calls for', (name) => assertState(name, f.states[name]!, printedBy(f.states[name]!.prints)));
});

test("a status answer not as Kong prints it fails for good, naming Kong, the version, the field and what was found", async () => {
  // cutover's own shape before it read the real one: flat lists
  const flat = { needs_bootstrap: false, executed_migrations: ['000_base'], pending_migrations: [], missing_migrations: [], new_migrations: [] };
  const a = activitiesOn(async () => ({ exitCode: 0, output: ['some log line', JSON.stringify(flat)] }));
  await expect(exec(a.readKongMigrations, { target: 'edge', blueVersion: '3.8.1', greenVersion: '3.9.3' })).rejects.toMatchObject({
    type: 'KongAnswer',
    nonRetryable: true,
    message: expect.stringMatching(/^Kong 3\.8\.1 answered 'kong migrations status' with executed_migrations\.0: "000_base" \(expected object\)/),
  });
  const unreachable = activitiesOn(async () => ({
    exitCode: 1,
    output: ['Error: [PostgreSQL error] failed to retrieve PostgreSQL server_version_num: connection refused', '', '  Run with --v (verbose) or --vv (debug) for more details'],
  }));
  await expect(exec(unreachable.readKongMigrations, { target: 'edge', blueVersion: '3.8.1', greenVersion: '3.9.3' })).rejects.toMatchObject({ type: 'DatabaseUnreachable', nonRetryable: false });
  const killed = activitiesOn(async () => ({ exitCode: 2, output: [] }));
  await expect(exec(killed.runKongMigrations, { target: 'edge', version: '3.9.3', command: 'up' })).rejects.toMatchObject({
    type: 'KongAnswer',
    message: expect.stringContaining('exited 2, which Kong\'s list never does'),
  });
});

// ---- the node's HTTP answers ------------------------------------------------------------------

interface Exchange {
  what: string;
  request: { method: string; path: string; body?: unknown };
  response: { status: number; body?: unknown };
  compare?: 'fields';
  cutoverReads?: unknown;
}
type HttpFixture = { source: string[]; exchanges: Exchange[] };

/** What cutover reads of the answer to `e.request`, through its production node client. */
async function cutoverReads(e: Exchange, fetchFn: typeof fetch, node: KongNodeAddress & { adminUrl: string }, version: string): Promise<unknown> {
  const api = nodeApi(fetchFn);
  const { method, path } = e.request;
  const refused = (p: Promise<unknown>) => p.then(
    () => 'not refused',
    (err: ApplicationFailure) => (err.nonRetryable ? `refused: ${err.message}` : `retryable: ${err.message}`),
  );
  if (method === 'GET' && path === '/') return { version: await api.version(node, version) };
  if (method === 'GET' && path === '/status') return { connections_active: (await api.status(node, version)).server.connections_active };
  if (method === 'GET' && path === '/status/ready') return e.response.status === 404 ? refused(api.ready(node, version)) : api.ready(node, version);
  if (method === 'POST' && path === '/status/ready' && e.cutoverReads !== null) return e.response.status === 204 ? api.drain(node, version).then(() => 'drained') : refused(api.drain(node, version));
  return null;
}

const equals = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The fields of an answer, recursively, without the values: what a 'fields' comparison compares. */
const fieldsOf = (v: unknown): unknown =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fieldsOf(x)]).sort(([a], [b]) => String(a).localeCompare(String(b)))) : typeof v;

const expectedRead = (e: Exchange): unknown =>
  typeof e.cutoverReads === 'string' && e.cutoverReads.startsWith('refused') ? expect.stringMatching(/^refused: /) : e.cutoverReads;

/** A fetch that answers the one exchange as the fixture recorded it. */
const answering = (e: Exchange): typeof fetch => (async () => new Response(e.response.body === undefined ? null : JSON.stringify(e.response.body), { status: e.response.status })) as typeof fetch;

const NODE = { pod: 'kong-0', proxyUrl: 'http://kong:8000', statusUrl: 'http://kong:8100', adminUrl: 'http://kong:8001' };
const HTTP = ['status-api.json', 'admin-root.json'];

describe.each(VERSIONS)("Kong %s's status API and Admin API, as cutover reads them", (version) => {
  test.each(HTTP)('%s: each answer read as the fixture says, by the node client cutover runs', async (file) => {
    const f = fixture<HttpFixture>(version, file);
    expect(f.source.join(' ')).toContain(`@${version}`);
    for (const e of f.exchanges) expect({ what: e.what, reads: await cutoverReads(e, answering(e), NODE, version) }).toEqual({ what: e.what, reads: expectedRead(e) });
  });
});

interface PrometheusFixture {
  families: Record<string, { type: string; help: string; labels: string[]; buckets?: number[]; when: string }>;
  examples: Record<string, string>;
}

interface Family {
  help?: string;
  type?: string;
  /** Each sample's label names, in order (a bucket's without le). */
  labels: string[][];
  /** Each bucket's le, in order. */
  le: string[];
}

/** A /metrics text's families as Prometheus reads them: HELP, TYPE, label names and buckets. */
function families(text: string): Record<string, Family> {
  const out: Record<string, Family> = {};
  const family = (name: string) => (out[name] ??= { labels: [], le: [] });
  const lines = text.split('\n').filter(Boolean);
  for (const m of lines.map((l) => /^# (HELP|TYPE) (\S+) (.*)$/.exec(l)).filter((m) => m !== null)) family(m[2]!)[m[1] === 'HELP' ? 'help' : 'type'] = m[3];
  for (const line of lines.filter((l) => !l.startsWith('#'))) {
    const [, name, body = ''] = /^(\w+)(?:\{(.*)\})? \S+$/.exec(line)!;
    const pairs = [...body.matchAll(/(\w+)="([^"]*)"/g)].map((p) => [p[1]!, p[2]!] as const);
    const part = out[name!] ? undefined : /_(bucket|count|sum)$/.exec(name!);
    const f = family(part ? name!.slice(0, -part[0].length) : name!);
    if (part?.[1] === 'bucket') f.le.push(pairs.find(([k]) => k === 'le')![1]);
    if (!part || part[1] === 'bucket') f.labels.push(pairs.map(([k]) => k).filter((k) => !part || k !== 'le'));
  }
  return out;
}

describe.each(VERSIONS)("Kong %s's Prometheus plugin", (version) => {
  const f = fixture<PrometheusFixture>(version, 'prometheus.json');
  test('each example read as Kong writes it: the families the analysis reads present only as the config says, their labels those of the version', () => {
    const [on, off] = Object.values(f.examples);
    expect(parseKongMetrics(on!)).toMatchObject({ version, exported: { requests: true, latency: true }, requests: 4, errors: 1 });
    expect(parseKongMetrics(off!)).toMatchObject({ version, exported: { requests: false, latency: false }, requests: 0 });
    const seen = families(on!);
    for (const [name, fam] of Object.entries(f.families)) {
      expect({ name, help: seen[name]?.help, type: seen[name]?.type, labels: seen[name]?.labels[0] ?? [] }).toEqual({ name, help: fam.help, type: fam.type, labels: fam.labels });
      if (fam.buckets) expect(seen[name]!.le).toEqual([...fam.buckets.map(String), '+Inf']);
    }
  });
});

// ---- the stand-in against the same fixtures -----------------------------------------------------

describe('the sandbox gateway answers as the fixtures say', () => {
  const gateways = gatewaysForThisFile();
  let databases = 0;

  const migrations = async (db: KongDatabase, version: string, command: MigrationsCommand): Promise<CommandRun> => runMigrationsProcess({ version, command, db });
  // each request on a connection of its own, closed after it: a kept-alive one would count in the node's connections_active
  const request = (url: string, method = 'GET', body?: unknown) =>
    fetchOnNewConnection(url, body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /** A node of `version` on a database it bootstrapped, with a service and route, and a prometheus plugin with `config`. */
  async function node(version: string, config: Record<string, boolean>): Promise<GatewayNode> {
    const db = await kongDatabase(gateways.pg, `contract_${++databases}`);
    expect((await migrations(db, version, 'bootstrap')).exitCode).toBe(0);
    const n = await gateways.start(`kong-${databases}`, version, db);
    const post = (path: string, body: unknown) => request(`${n.adminUrl}${path}`, 'POST', body);
    expect((await post('/services', { name: 'echo', url: gateways.echo.url })).status).toBe(201);
    expect((await post('/routes', { name: 'echo', paths: ['/echo'], service: { name: 'echo' } })).status).toBe(201);
    expect((await post('/plugins', { name: 'prometheus', config })).status).toBe(201);
    return n;
  }

  test.each(VERSIONS)("Kong %s: its status API and GET / answer each fixture request with the fixture's answer, read by cutover alike; its metrics as the plugin's config says", async (version) => {
    const n = await node(version, {});
    const at = { pod: 'kong-0', proxyUrl: n.proxyUrl, statusUrl: n.statusUrl, adminUrl: n.adminUrl };
    for (const file of HTTP) {
      for (const e of fixture<HttpFixture>(version, file).exchanges) {
        const url = `${e.request.path === '/' ? n.adminUrl : n.statusUrl}${e.request.path}`;
        // in order (a POST drains); a read of values (connections) again until the last request's connection has closed
        const answer = async () => {
          const raw = await request(url, e.request.method, e.request.body);
          const text = await raw.text();
          const replay = (async () => new Response(text || null, { status: raw.status })) as typeof fetch;
          return { status: raw.status, body: text ? (JSON.parse(text) as unknown) : undefined, reads: await cutoverReads(e, replay, at, version) };
        };
        let got = await answer();
        for (let i = 0; e.compare === 'fields' && i < 50 && !equals(got.reads, e.cutoverReads); i++) got = await answer();
        expect({ what: e.what, status: got.status }).toEqual({ what: e.what, status: e.response.status });
        if (e.compare === 'fields') expect({ what: e.what, fields: fieldsOf(got.body) }).toEqual({ what: e.what, fields: fieldsOf(e.response.body) });
        else expect({ what: e.what, body: got.body }).toEqual({ what: e.what, body: e.response.body });
        expect({ what: e.what, reads: got.reads }).toEqual({ what: e.what, reads: expectedRead(e) });
      }
    }

    // The plugin's default config: neither family; then with both flags, each as the fixture names it.
    const f = fixture<PrometheusFixture>(version, 'prometheus.json');
    const traffic = async () => {
      for (const path of ['/echo/a', '/echo/b', '/nowhere']) await (await request(`${n.proxyUrl}${path}`)).arrayBuffer();
      return (await request(`${n.statusUrl}/metrics`)).text();
    };
    const off = await traffic();
    expect(parseKongMetrics(off)).toMatchObject({ version, requests: 0, exported: { requests: false, latency: false } });
    expect(Object.keys(families(off)).filter((x) => x === 'kong_http_requests_total' || x === 'kong_request_latency_ms')).toEqual([]);
    const [plugin] = ((await (await request(`${n.adminUrl}/plugins`)).json()) as { data: { id: string }[] }).data;
    expect((await request(`${n.adminUrl}/plugins/${plugin!.id}`, 'PATCH', { config: { status_code_metrics: true, latency_metrics: true } })).status).toBe(200);
    const on = await traffic();
    // a request that matched no route is not counted (kong/plugins/prometheus/exporter.lua, log)
    expect(parseKongMetrics(on)).toMatchObject({ version, requests: 2, exported: { requests: true, latency: true } });
    const seen = families(on);
    for (const [name, fam] of Object.entries(f.families)) {
      expect({ name, help: seen[name]?.help, type: seen[name]?.type, labels: seen[name]?.labels[0] ?? [] }).toEqual({ name, help: fam.help, type: fam.type, labels: fam.labels });
      if (fam.buckets) expect(seen[name]!.le).toEqual([...fam.buckets.map(String), '+Inf']);
    }
  }, 60_000);

  /** The sandbox's own migrations (core only) put through the same states, with its versions. */
  test.each(STATES)("its 'kong migrations status' and 'list' in state %s pass the same assertions as Kong's", async (name) => {
    const db = await kongDatabase(gateways.pg, `states_${name.replaceAll('-', '_')}`);
    // the CLI's own code, in this process: the contract is what it prints and exits with
    const c = new Client({ ...db });
    await c.connect();
    const run = async (version: string, command: MigrationsCommand): Promise<CommandRun> => {
      const r = await runMigrationsCommand(c, gatewayVersion(version), command);
      return { exitCode: r.exitCode, output: r.lines };
    };
    const steps: Record<string, { history: [string, MigrationsCommand][]; blue: string | null; green: string; plan: MigrationsState['plan'] }> = {
      'not-bootstrapped': { history: [], blue: null, green: '3.9.0', plan: { action: 'refuse' } },
      bootstrapped: { history: [['3.8.0', 'bootstrap']], blue: '3.8.0', green: '3.9.0', plan: { action: 'up', migrations: [{ subsystem: 'core', migrations: ['001_380_to_390'] }] } },
      'pending-this-upgrade': { history: [['3.8.0', 'bootstrap'], ['3.9.0', 'up']], blue: '3.8.0', green: '3.9.0', plan: { action: 'alreadyUp', migrations: [{ subsystem: 'core', migrations: ['001_380_to_390'] }] } },
      'pending-earlier-upgrade': {
        history: [['3.8.0', 'bootstrap'], ['3.9.0', 'up']],
        blue: '3.9.0',
        green: '3.9.1',
        plan: { action: 'refuse', withFinishPending: { action: 'finishEarlier', earlier: [{ subsystem: 'core', migrations: ['001_380_to_390'] }], then: [] } },
      },
      finished: { history: [['3.8.0', 'bootstrap'], ['3.9.0', 'up'], ['3.9.0', 'finish']], blue: '3.8.0', green: '3.9.0', plan: { action: 'none' } },
      missing: { history: [['3.9.0', 'bootstrap']], blue: null, green: '3.9.0', plan: { action: 'refuse' } },
    };
    const s = steps[name]!;
    for (const [version, command] of s.history) expect((await run(version, command)).exitCode).toBe(0);
    if (name === 'missing') await c.query(`UPDATE schema_meta SET executed = array_remove(executed, last_executed) WHERE subsystem = 'core'`);
    const prints: Record<string, Printed> = {};
    for (const version of [s.blue, s.green].filter((v): v is string => !!v)) {
      const status = JSON.parse((await run(version, 'status')).output.find((l) => l.startsWith('{'))!) as MigrationsStatus;
      prints[version] = { status, list: (await run(version, 'list')).exitCode };
    }
    await assertState(name, { blue: s.blue, green: s.green, prints, plan: s.plan }, run);
    await c.end();
  }, 60_000);
});
