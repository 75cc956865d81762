/**
 * One upgrade of each kind with faults in front of what the worker reaches
 * (or none: the clean run the bench compares with), run by the chaos tests
 * and by `npm run bench`'s chaos section: EMQX's REST API, each Kong node's
 * status and Admin APIs and the Kong database, the projection service's
 * catch-up endpoint and the release databases' PostgreSQL on the local
 * platform; the Kubernetes API server under an EMQX upgrade on the control
 * plane. Each run says how it ended, how long it took, what its history
 * holds and what the systems saw of its side effects, counted from the
 * systems themselves (the requests the upstreams answered, PostgreSQL's
 * statement log, nginx's configs, the Service's versions), never from
 * cutover's own record.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { V1Service } from '@kubernetes/client-node';
import { Client } from 'pg';
import { createActivities } from '../../src/activities';
import { Mirror } from '../../src/activities/platforms/kubernetes/mirror';
import { weightsOfOwned } from '../../src/activities/routers/nginx/upstream';
import type { TargetConfig } from '../../src/config/targets';
import type { LocalKong } from '../../src/domain/kong/local';
import type { LocalWorkloads } from '../../src/domain/platform';
import { releaseDatabaseName } from '../../src/domain/projection/naming';
import { RELEASE_LABEL } from '../../src/domain/kubernetes';
import type { Role } from '../../src/domain/traffic';
import { releaseName, upgradeWorkflowId, type UpgradeInput, type UpgradeState } from '../../src/domain/upgrade';
import type { FaultCounts, FaultInjector } from '../../src/sandbox/faultProxy';
import type { LocalSandbox } from '../../src/sandbox/localSandbox';
import { SANDBOX_PG_PASSWORD, SANDBOX_PG_USER } from '../../src/sandbox/postgres';
import { startKongStack } from '../support/kongSandboxStack';
import { startLocalStack } from '../support/localStack';
import { startProjectionStack } from '../support/projectionStack';
import type { EmqxOnKube } from '../support/emqxOnKube';
import { kubeConfigFor } from '../support/kubeControlPlane';
import { TEST_STEERING_KEYS } from '../support/steering';
import { startWorker, uniqueId, upgradeInput, type RunningWorker } from '../support/temporal';

/** What the run had in front of the EMQX API: 30% answered 503, 5% reset, the rest delayed up to 300 ms. */
export const CHAOS = { fail: 0.3, reset: 0.05, maxDelayMs: 300 } as const;

/** Seeds whose first ten calls already hold a 503, a reset before forwarding and one after the upstream answered. */
export const SEEDS = { emqxLocal: 21, kongLocal: 21, projectionLocal: 24, emqxKubernetes: 24 } as const;

/** What the history of a run holds: each activity scheduled once, its retries on the server. */
export interface HistoryCount {
  events: number;
  /** Activities scheduled. */
  activities: number;
  /** Attempts after the first, summed over the activities (Temporal retried them without a history event). */
  retries: number;
  /** Activities that ended failed or timed out. */
  failed: number;
}

export interface UpgradeRun {
  final: UpgradeState;
  /** From the start of the workflow to its result. */
  ms: number;
  history: HistoryCount;
  /** The faults injected, if any. */
  faults?: FaultCounts;
  /** Side effects as the systems saw them. */
  seen: Record<string, unknown>;
}

async function historyCount(h: WorkflowHandle): Promise<HistoryCount> {
  const events = (await h.fetchHistory()).events ?? [];
  return {
    events: events.length,
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    retries: events.reduce((n, e) => n + Math.max(0, (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1), 0),
    failed: events.filter((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes).length,
  };
}

/** Starts the shipped workflow and waits for its end. */
async function run(env: TestWorkflowEnvironment, taskQueue: string, input: UpgradeInput): Promise<Omit<UpgradeRun, 'seen' | 'faults'>> {
  const started = Date.now();
  const h = await env.client.workflow.start('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(input.target), args: [input] });
  const final = (await h.result()) as UpgradeState;
  return { final, ms: Date.now() - started, history: await historyCount(h) };
}

const worker = (env: TestWorkflowEnvironment, taskQueue: string, activities: object, extra = {}): Promise<RunningWorker> =>
  startWorker(env, taskQueue, activities, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! }, ...extra });

/**
 * The releases nginx sent the target's traffic to, each time the router's
 * block its workers took changed them (`blue`, `green`, or both during a
 * split): what the local platform's router is.
 */
function routedReleases(sandbox: LocalSandbox, roles: Record<Role, string>): { names(): string[] } {
  const byRelease = Object.fromEntries(Object.entries(roles).map(([role, release]) => [release, role]));
  const sets: string[] = [];
  const applyOwned = sandbox.nginx.applyOwned.bind(sandbox.nginx);
  sandbox.nginx.applyOwned = async (upstream, text) => {
    const applied = await applyOwned(upstream, text);
    const set = Object.keys(weightsOfOwned(text)).map((r) => byRelease[r] ?? r).sort().join('+');
    if (sets.at(-1) !== set) sets.push(set);
    return applied;
  };
  return { names: () => [...sets] };
}

// ---- EMQX on the local platform ------------------------------------------

const EMQX_FAST = { connEvictRate: 100, sessEvictRate: 100, waitTakeoverMs: 1000, waitHealthCheckMs: 1000, initialDelayMs: 200, drainIntervalMs: 200 };

/** 3 sandbox nodes 5.7.0 -> 5.8.0; faults in front of the EMQX REST API (nginx's upstream of every node). */
export async function emqxLocal(env: TestWorkflowEnvironment, faults?: FaultInjector): Promise<UpgradeRun> {
  const stack = await startLocalStack(env, 'chaos-emqx', { apiVia: faults && ((url) => faults.http(url)) });
  const blue = releaseName(stack.name, '5.7.0');
  const green = releaseName(stack.name, '5.8.0');
  const routed = routedReleases(stack.sandbox, { blue, green });
  try {
    const input = upgradeInput({ kind: 'emqx', target: stack.name, version: '5.8.0', options: { approval: 'auto', standbyWindowMs: 500 }, settings: { emqx: EMQX_FAST } });
    const r = await run(env, stack.taskQueue, input);
    const starts = (faults?.forwarded ?? [])
      .filter((c) => c.method === 'POST' && c.path.endsWith('/evacuation/start') && c.status === 200)
      .map((c) => decodeURIComponent(c.path.split('/')[4]));
    return {
      ...r,
      faults: faults?.counts,
      seen: {
        // EMQX's answers the proxy carried: 200 is "evacuation started" (a second start answers 400 already_started)
        evacuationsStarted: countBy(starts),
        routedTo: routed.names(),
      },
    };
  } finally {
    await stack.stop();
  }
}

const countBy = (xs: string[]): Record<string, number> => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});

// ---- Kong on the local platform --------------------------------------------

/** Entries of PostgreSQL's log (a statement spans lines) that match: what it logged under log_statement or log_min_duration_statement. */
function loggedStatements(pgDir: string, pattern: RegExp): number {
  return readFileSync(join(pgDir, 'postgres.log'), 'utf8')
    .split(/\n(?=\d{4}-\d\d-\d\d )/)
    .filter((entry) => pattern.test(entry)).length;
}

async function onDatabase(port: number, database: string, sql: string): Promise<void> {
  const c = new Client({ host: '127.0.0.1', port, user: SANDBOX_PG_USER, password: SANDBOX_PG_PASSWORD, database });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A Kong sandbox whose node addresses, as the worker gets them, lead through the faults. */
function nodesThrough(sandbox: LocalSandbox, faults: FaultInjector): LocalWorkloads {
  const kong = sandbox.kindPort as LocalKong;
  const proxied = new Map<string, Promise<string>>();
  const via = (url: string): Promise<string> => {
    if (!proxied.has(url)) proxied.set(url, faults.http(url));
    return proxied.get(url)!;
  };
  const kindPort: LocalKong = {
    runMigrations: (i) => kong.runMigrations(i),
    nodes: async (release) =>
      Promise.all(
        (await kong.nodes(release)).map(async (n) => ({ ...n, statusUrl: await via(n.statusUrl), ...(n.adminUrl ? { adminUrl: await via(n.adminUrl) } : {}) })),
      ),
  };
  return {
    target: sandbox.target,
    imageOf: (v) => sandbox.imageOf(v),
    read: (fn) => sandbox.read(fn),
    change: (fn) => sandbox.change(fn),
    heal: () => sandbox.heal(),
    pods: (r) => sandbox.pods(r),
    kindPort,
    router: sandbox.router,
  };
}

/**
 * Two sandbox gateways 3.8.0 -> 3.9.0 on PostgreSQL, traffic 50% then 100%,
 * no gate; faults in front of each node's status and Admin API and of the
 * worker's connections to the Kong database (the freeze, the fingerprint,
 * pg_dump). The migrations commands reach the database directly: a
 * connection lost in the middle of a Kong migration is not a passing fault
 * (a migration may be applied and not recorded, Kong/kong #12978), and
 * cutover stops there for a person.
 */
export async function kongLocal(env: TestWorkflowEnvironment, faults?: FaultInjector): Promise<UpgradeRun> {
  const stack = await startKongStack({ name: uniqueId('chaos-kong') });
  const { target, sandbox, ports } = stack;
  const pgDir = join(stack.dataDir, 'sandbox', target.name, 'nodes', 'postgres');
  let w: RunningWorker | undefined;
  try {
    // what PostgreSQL runs in the Kong database: its log says how often `up`'s migration ran
    await onDatabase(ports.postgres, 'kong', `ALTER DATABASE kong SET log_statement = 'ddl'`);
    const workerTarget: TargetConfig = faults ? { ...target, kong: { ...target.kong!, database: { ...target.kong!.database, port: await faults.tcp(ports.postgres) } } } : target;
    const workloads = faults ? nodesThrough(sandbox, faults) : sandbox;
    const taskQueue = uniqueId('chaos-kong');
    const secrets = { KONG_PG_PASSWORD: SANDBOX_PG_PASSWORD };
    w = await worker(env, taskQueue, createActivities([workerTarget], { sandboxes: new Map([[target.name, workloads]]), env: secrets, pollMs: 200, temporal: env.client, steeringKeys: TEST_STEERING_KEYS }));
    const routed = routedReleases(sandbox, { blue: releaseName(target.name, '3.8.0'), green: releaseName(target.name, '3.9.0') });
    const input = upgradeInput({
      kind: 'kong',
      target: target.name,
      version: '3.9.0',
      options: { approval: 'auto', standbyWindowMs: 500, traffic: [{ weight: 50, analysis: [] }, { weight: 100, analysis: [] }], approveBefore: [] },
    });
    const r = await run(env, taskQueue, input);
    return {
      ...r,
      faults: faults?.counts,
      seen: {
        migrationsUp: loggedStatements(pgDir, /statement:[\s\S]*ADD COLUMN IF NOT EXISTS url/),
        routedTo: routed.names(),
      },
    };
  } finally {
    await w?.stop();
    await stack.stop();
    rmSync(stack.dataDir, { recursive: true, force: true });
  }
}

// ---- projection on the local platform -------------------------------------

/** GET /<release>/catch-up answered by that release's service (its own port, from the sandbox's state): where the http preset reads. */
async function catchUpRouter(sandbox: LocalSandbox): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const [, release, ...rest] = (req.url ?? '/').split('/');
    void sandbox.read((s) => s.releases[release]?.ports[0]?.query).then((port) => {
      if (!port) return void res.writeHead(404).end();
      const up = request({ host: '127.0.0.1', port, path: `/${rest.join('/')}` }, (a) => {
        res.writeHead(a.statusCode ?? 502, a.headers);
        a.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      up.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * The event-sourced sandbox 1.4.0 -> 2.0.0 over 20,000 events; the catch-up
 * read over HTTP from the service (the http preset), with faults in front
 * of it and of the worker's connections to the releases' PostgreSQL.
 */
export async function projectionLocal(env: TestWorkflowEnvironment, faults?: FaultInjector): Promise<UpgradeRun> {
  let router: { url: string; close(): Promise<void> } | undefined;
  const stack = await startProjectionStack(env, 20_000, {}, {
    catchUp: async (sandbox) => {
      router = await catchUpRouter(sandbox);
      return { preset: 'http', url: `${faults ? await faults.http(router.url) : router.url}/{release}/catch-up` };
    },
    postgresPort: faults && ((port) => faults.tcp(port)),
  });
  const blue = releaseName(stack.name, '1.4.0');
  const green = releaseName(stack.name, '2.0.0');
  const routed = routedReleases(stack.sandbox, { blue, green });
  try {
    const pg = stack.target.local!.ports.postgres;
    // completed statements in the database the worker creates and drops databases from: a CREATE that failed is not counted
    await onDatabase(pg, 'postgres', `ALTER DATABASE postgres SET log_min_duration_statement = 0`);
    const input = upgradeInput({
      kind: 'projection',
      target: stack.name,
      version: '2.0.0',
      options: { approval: 'auto', standbyWindowMs: 1000 },
      settings: { projection: { pollMs: 250, holdMs: 1000, maxLag: 300, stallAfterMs: 3000, stallTimeoutMs: 20_000 } },
    });
    const r = await run(env, stack.taskQueue, input);
    const created = new RegExp(`duration: [\\s\\S]*statement: CREATE DATABASE "${releaseDatabaseName(green)}"`);
    return {
      ...r,
      faults: faults?.counts,
      seen: {
        greenDatabaseCreated: loggedStatements(stack.pgDir, created),
        routedTo: routed.names(),
      },
    };
  } finally {
    await stack.stop();
    await router?.close();
  }
}

// ---- EMQX on the Kubernetes control plane ----------------------------------

/**
 * 3 EMQX pods of a StatefulSet 5.7.0 -> 5.8.0 (the caller's EmqxOnKube: a
 * test file that starts one gets the control plane) with faults in front of
 * the Kubernetes API server, between the worker and the recording proxy, so
 * what that proxy records reached the API server.
 */
export async function emqxKubernetes(env: TestWorkflowEnvironment, sys: EmqxOnKube, faults?: FaultInjector): Promise<UpgradeRun> {
  const green = releaseName(sys.target.name, '5.8.0');
  // the Service's versions as the API server stores them, watched directly
  const selectors: string[] = [];
  const services = new Mirror<V1Service>({
    kc: kubeConfigFor(sys.ns.url, sys.ns.token),
    path: `/api/v1/namespaces/${sys.ns.name}/services`,
    fieldSelector: 'metadata.name=emqx',
    list: () => sys.ns.core.listNamespacedService({ namespace: sys.ns.name, fieldSelector: 'metadata.name=emqx' }),
    onChange: () => {
      const s = JSON.stringify(services.items()[0]?.spec?.selector ?? {});
      if (selectors.at(-1) !== s) selectors.push(s);
    },
    onError: () => undefined,
  });
  let w: RunningWorker | undefined;
  try {
    await services.start();
    const apiUrl = faults ? await faults.http(sys.ns.proxyUrl) : sys.ns.proxyUrl;
    const taskQueue = uniqueId('chaos-kube');
    w = await worker(env, taskQueue, sys.activities(env.client, {}, undefined, apiUrl));
    const input = upgradeInput({ kind: 'emqx', target: sys.target.name, version: '5.8.0', options: { approval: 'auto', standbyWindowMs: 500 }, settings: { emqx: EMQX_FAST } });
    const r = await run(env, taskQueue, input);
    const applied = (method: string, path: RegExp) => sys.ns.requests.filter((q) => q.method === method && path.test(q.path) && (q.status ?? 500) < 300);
    return {
      ...r,
      faults: faults?.counts,
      seen: {
        greenCreated: applied('POST', /\/statefulsets$/).length,
        serviceSelectors: selectors.map((s) => JSON.parse(s) as Record<string, string>),
        switchedToGreen: selectors.filter((s) => (JSON.parse(s) as Record<string, string>)[RELEASE_LABEL] === green).length,
        blueScaledTo: applied('PUT', /\/statefulsets\/emqx\/scale$/).map((q) => (q.body as { spec: { replicas: number } }).spec.replicas),
        evacuationsStarted: countBy(sys.emqx.requestsTo('POST', '/api/v5/load_rebalance/').filter((q) => q.path.endsWith('/evacuation/start')).map((q) => decodeURIComponent(q.path.split('/')[4]))),
      },
    };
  } finally {
    services.stop();
    await w?.stop();
  }
}
