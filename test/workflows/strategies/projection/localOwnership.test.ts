/**
 * Ownership on the local platform: two sandbox projection targets whose
 * releases keep their databases on one PostgreSQL (the first sandbox's; the
 * second's databasesUrl points there), `orders` and `orders-view`, whose
 * releases at view-2.0.0 and 2.0.0 once had one name. The shipped workflow,
 * the real local platform and projection activities, the API listening.
 * What a user would notice: a database of green's name that the other target
 * owns fails the upgrade at prepare, naming its owner, with nothing of either
 * target changed; one target's rollback leaves the other's serving release
 * (its processes, its state file entry) and database alone; each state file
 * says who made each release.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../../../src/activities';
import { withClient } from '../../../../src/activities/pg';
import { ensureReleaseDatabase } from '../../../../src/activities/projection/releaseDatabase';
import type { TargetConfig } from '../../../../src/config/targets';
import type { LocalState } from '../../../../src/domain/platform';
import { releaseDatabaseName } from '../../../../src/domain/projection/naming';
import { legacyReleaseName, releaseName } from '../../../../src/domain/upgrade';
import { freePort } from '../../../../src/runtime/freePort';
import { createLocalSandboxes } from '../../../../src/sandbox';
import type { LocalSandbox } from '../../../../src/sandbox/localSandbox';
import { call, serviceToken, testConfig, testServer } from '../../../api/harness';
import { connectSharedServer, eventually, startWorker, uniqueId, type RunningWorker } from '../../../support/temporal';
import { clusterDir } from '../../../support/emqxSandbox';
import { TEST_STEERING_KEYS } from '../../../support/steering';

const OPTIONS = { approval: 'auto', standbyWindow: '1s', projection: { poll: '250ms', hold: '1s', maxLag: 500 } };
const ENDED = ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'];
const base = uniqueId('own');
const ORDERS = base;
const VIEW = `${base}-view`;

let env: TestWorkflowEnvironment;
let app: FastifyInstance;
let worker: RunningWorker | undefined;
const sandboxes = new Map<string, LocalSandbox>();
const secrets: NodeJS.ProcessEnv = { ROLES: 'role-secret-for-tests' };
const dataDir = clusterDir('own');
// short: PostgreSQL's socket path under the cluster's directory must stay within 107 bytes
const clusterOf = (target: string) => `${target === VIEW ? 'v' : 'o'}${base.slice(-4)}`;

beforeAll(async () => {
  env = await connectSharedServer();
  const targets: TargetConfig[] = [];
  for (const name of [VIEW, ORDERS]) {
    const ports = { query: await freePort(), postgres: await freePort(), status: await freePort() };
    const store = `STORE_${name === VIEW ? 'VIEW' : 'ORDERS'}`;
    targets.push({
      name,
      kind: 'projection',
      local: { cluster: clusterOf(name), version: '1.4.0', replicas: 1, ports },
      // one PostgreSQL for both targets' release databases: DBS, which the first sandbox sets to its own
      projection: { catchUp: { preset: 'axon', naming: 'jdbc' }, eventStoreUrl: { env: store }, databasesUrl: { env: 'DBS' }, rolePasswordSecret: { env: 'ROLES' } },
    });
  }
  const taskQueue = uniqueId('own');
  app = await testServer(env.client, testConfig(targets, taskQueue));
  const apiPort = await freePort();
  await app.listen({ host: '127.0.0.1', port: apiPort });
  for (const t of targets) {
    // each target's releases long-poll with their own service token; the secrets they share stay shared
    const own: NodeJS.ProcessEnv = Object.assign(secrets, {
      CUTOVER_API_PORT: String(apiPort),
      SANDBOX_PROJECTION_SERVICE_TOKEN: serviceToken(t.name),
      SANDBOX_PROJECTION_SEED: '5000',
      SANDBOX_PROJECTION_HANDLER_COST_US: '0',
    });
    const sandbox = createLocalSandboxes([t], dataDir, own).get(t.name)!;
    sandboxes.set(t.name, sandbox);
    await sandbox.start();
  }
  const activities = createActivities(targets, { sandboxes, env: secrets, pollMs: 200, temporal: env.client, steeringKeys: TEST_STEERING_KEYS });
  worker = await startWorker(env, taskQueue, activities, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! }, maxHeartbeatThrottleInterval: '500 ms' });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  for (const s of sandboxes.values()) await s.stop();
  await app?.close();
  await env?.teardown();
});

const state = (target: string) => JSON.parse(readFileSync(join(dataDir, 'sandbox', clusterOf(target), 'state.json'), 'utf8')) as LocalState;
const start = async (target: string, version: string, options: object = {}): Promise<string> => {
  const r = await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target, version, options: { ...OPTIONS, ...options } } });
  expect(r.status).toBe(201);
  return r.json.id as string;
};
const read = async (id: string) => (await call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
const ended = (id: string) => eventually(async () => ENDED.includes((await read(id)).status) && read(id), 60_000);
const comment = async (database: string) =>
  (await withClient(secrets.DBS!, (c) => c.query<{ c: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`, [database]))).rows[0]?.c;

test("each state file says who made each release: the configured first one, then the upgrade's green", async () => {
  expect(legacyReleaseName(ORDERS, 'view-2.0.0')).toBe(legacyReleaseName(VIEW, '2.0.0'));
  const view = await ended(await start(VIEW, '2.0.0'));
  expect(view.status).toBe('SUCCEEDED');
  expect(state(VIEW).releases).toEqual({
    [releaseName(VIEW, '2.0.0')]: expect.objectContaining({ version: '2.0.0', owner: { target: VIEW, upgrade: view.upgradeId } }),
  });
  expect(state(ORDERS).releases).toEqual({ [releaseName(ORDERS, '1.4.0')]: expect.objectContaining({ owner: { target: ORDERS } }) });
});

test("a database of green's name that the other target owns: the upgrade fails at prepare naming the owner; nothing of either target changed", async () => {
  const green = releaseName(ORDERS, 'view-3.0.0');
  await withClient(secrets.DBS!, (c) => ensureReleaseDatabase(c, releaseDatabaseName(green), secrets.ROLES!, { owner: { target: VIEW, upgrade: `${VIEW}.u1` }, release: green }));
  const before = { orders: state(ORDERS), comment: await comment(releaseDatabaseName(green)) };

  const final = await ended(await start(ORDERS, 'view-3.0.0'));
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'prepare', type: 'NotOwned' });
  expect(final.failure.message).toBe(`database ${releaseDatabaseName(green)} belongs to target '${VIEW}' (created by upgrade ${VIEW}.u1), not to target '${ORDERS}'; cutover leaves it as it is`);
  expect(state(ORDERS)).toEqual(before.orders);
  expect(await comment(releaseDatabaseName(green))).toBe(before.comment);
  await withClient(secrets.DBS!, (c) => c.query(`DROP DATABASE ${releaseDatabaseName(green)}`));
});

test("one target's rollback in the standby window leaves the other's serving release and its database as they were", async () => {
  const viewGreen = releaseName(VIEW, '2.0.0');
  const ordersGreen = releaseName(ORDERS, 'view-2.0.0');
  const viewBefore = state(VIEW);
  const id = await start(ORDERS, 'view-2.0.0', { standbyWindow: '10m' });
  await eventually(async () => (await read(id)).step === 'standBy', 60_000);
  expect(await comment(releaseDatabaseName(ordersGreen))).toMatch(new RegExp(`"target":"${ORDERS}"`));
  expect((await call(app, 'POST', `/v1/upgrades/${id}/rollback`, { as: 'operator', body: { reason: 'wrong totals' } })).status).toBe(200);
  expect((await ended(id)).status).toBe('ROLLED_BACK');

  expect(Object.keys(state(ORDERS).releases)).toEqual([releaseName(ORDERS, '1.4.0')]);
  expect(await comment(releaseDatabaseName(ordersGreen))).toBeUndefined();
  expect(state(VIEW)).toEqual(viewBefore);
  expect(await comment(releaseDatabaseName(viewGreen))).toMatch(new RegExp(`"target":"${VIEW}"`));
  expect(sandboxes.get(VIEW)!.pods(viewGreen)).toEqual([{ name: `${viewGreen}-0`, ready: true }]);
  const listed = (await call(app, 'GET', `/v1/targets/${VIEW}`, { as: 'viewer' })).json;
  expect(listed.releases).toEqual([
    {
      name: viewGreen,
      version: '2.0.0',
      owner: { target: VIEW, upgrade: state(VIEW).releases[viewGreen]!.owner!.upgrade },
      weight: 100,
      serving: true,
      orphan: false,
      objects: [`local release ${viewGreen} (1 node)`, `database ${releaseDatabaseName(viewGreen)}`],
    },
  ]);
});
