/**
 * Ownership end to end on the suite's control plane: two projection targets
 * in one namespace, sharing one PostgreSQL for their releases' databases, as
 * the issue found them: `orders` at view-2.0.0 and `orders-view` at 2.0.0
 * once got one release name, so one workload and one database. The shipped
 * workflow, the real Kubernetes and projection activities with the shipped
 * Role's token, the API listening (the services long-poll their phase).
 * What a user would notice: the names differ now; an object of green's name
 * that another target owns fails the upgrade before anything changes, naming
 * its owner, and stays as it was; one target's rollback leaves the other's
 * workload and database alone; a terminated upgrade's green is listed as an
 * orphan by GET /v1/targets/:target and removed by the clean-up (refused with
 * 409 while an upgrade runs), the serving release untouched.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../../../src/activities';
import { withClient } from '../../../../src/activities/pg';
import { ensureReleaseDatabase } from '../../../../src/activities/projection/releaseDatabase';
import { releaseDatabaseName } from '../../../../src/domain/projection/naming';
import { legacyReleaseName, releaseName, upgradeWorkflowId } from '../../../../src/domain/upgrade';
import { freePort } from '../../../../src/runtime/freePort';
import type { PostgresServer } from '../../../../src/sandbox/postgres';
import { call, testConfig, testServer } from '../../../api/harness';
import { TestNamespace } from '../../../support/kube';
import type { ProjectionKubelet } from '../../../support/projectionKubelet';
import { ROLE_SECRET, deployProjectionBlue, startProjectionStore, projectionSecrets, projectionTarget, releaseStatus, type ProjectionBlue } from '../../../support/projectionOnKube';
import { applyForCutover, shippedManifests } from '../../../support/shippedRbac';
import { connectSharedServer, eventually, startWorker, uniqueId, type RunningWorker } from '../../../support/temporal';
import { TEST_STEERING_KEYS } from '../../../support/steering';

const OPTIONS = { approval: 'auto', standbyWindow: '1s', projection: { poll: '250ms', hold: '1s', maxLag: 100, stallAfter: '5s', stallTimeout: '30s' } };
const ENDED = ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'];

const base = uniqueId('own');
// the pair: ORDERS at view-2.0.0 and VIEW at 2.0.0 had one release name
const ORDERS: ProjectionBlue = { target: base, app: 'orders', blue: `${base}-blue`, service: 'orders-query' };
const VIEW: ProjectionBlue = { target: `${base}-view`, app: 'view', blue: `${base}-view-blue`, service: 'view-query' };

let env: TestWorkflowEnvironment;
let pg: PostgresServer;
let dir: string;
let ns: TestNamespace;
let app: FastifyInstance;
let worker: RunningWorker;
const kubelets: Record<string, ProjectionKubelet> = {};

beforeAll(async () => {
  env = await connectSharedServer();
  ({ pg, dir } = await startProjectionStore(5000));
  ns = await TestNamespace.create('ownership');
  const targets = [ORDERS, VIEW].map((b) => projectionTarget(ns.name, b));
  const taskQueue = uniqueId('own');
  app = await testServer(env.client, testConfig(targets, taskQueue));
  const apiPort = await freePort();
  await app.listen({ host: '127.0.0.1', port: apiPort });
  for (const b of [ORDERS, VIEW]) kubelets[b.target] = await deployProjectionBlue(ns, pg, b, { apiPort, logDir: join(dir, 'logs') });
  for (const b of [ORDERS, VIEW]) await eventually(async () => (await releaseStatus(kubelets[b.target]!, b.blue))?.phase === 'SERVING', 30_000);
  const token = await applyForCutover(ns, shippedManifests(ns.name, undefined, 'rbac.yaml'));
  const activities = createActivities(targets, { kubeConfigFor: () => ns.kubeConfig(token), env: projectionSecrets(pg), pollMs: 200, temporal: env.client, steeringKeys: TEST_STEERING_KEYS });
  worker = await startWorker(env, taskQueue, activities, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! }, maxHeartbeatThrottleInterval: '500 ms' });
}, 120_000);

afterAll(async () => {
  for (const k of Object.values(kubelets)) await k.stop();
  await app?.close();
  for (const b of [ORDERS, VIEW]) await env.client.workflow.getHandle(upgradeWorkflowId(b.target)).terminate().catch(() => undefined);
  await worker?.stop();
  await ns?.delete();
  await pg?.stop();
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const start = async (b: ProjectionBlue, version: string, options: object = {}): Promise<string> => {
  const r = await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: b.target, version, options: { ...OPTIONS, ...options } } });
  expect(r.status).toBe(201);
  return r.json.id as string;
};
const read = async (id: string) => (await call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
const ended = (id: string) => eventually(async () => ENDED.includes((await read(id)).status) && read(id), 60_000);
const deployment = (name: string) => ns.apps.readNamespacedDeployment({ name, namespace: ns.name }).catch(() => undefined);
const selector = async (service: string) => (await ns.core.readNamespacedService({ name: service, namespace: ns.name })).spec!.selector;
const comment = async (database: string) =>
  (await withClient(pg.url(), (c) => c.query<{ c: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`, [database]))).rows[0]?.c;
const target = async (b: ProjectionBlue) => (await call(app, 'GET', `/v1/targets/${b.target}`, { as: 'viewer' })).json;

test("a database of green's name that the other target owns: prepare fails before anything changes, naming the owner; the database stays as it was", async () => {
  const green = releaseName(ORDERS.target, 'view-4.0.0');
  await withClient(pg.url(), (c) => ensureReleaseDatabase(c, releaseDatabaseName(green), ROLE_SECRET, { owner: { target: VIEW.target, upgrade: `${VIEW.target}.u1` }, release: green }));
  const before = await comment(releaseDatabaseName(green));

  const final = await ended(await start(ORDERS, 'view-4.0.0'));
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'prepare', type: 'NotOwned' });
  expect(final.failure.message).toBe(
    `database ${releaseDatabaseName(green)} belongs to target '${VIEW.target}' (created by upgrade ${VIEW.target}.u1), not to target '${ORDERS.target}'; cutover leaves it as it is`,
  );
  expect(await comment(releaseDatabaseName(green))).toBe(before);
  // blue's database was not adopted: the step changed nothing
  expect(await comment(releaseDatabaseName(ORDERS.blue))).toBeNull();
  await withClient(pg.url(), (c) => c.query(`DROP DATABASE ${releaseDatabaseName(green)}`));
});

test("a Deployment of green's name that the other target owns: deployGreen fails before anything changes, naming the owner; blue not adopted, the Service not moved, the Deployment as it was", async () => {
  const green = releaseName(ORDERS.target, 'view-3.0.0');
  const labels = { app: 'squatter' };
  const theirs = await ns.apps.createNamespacedDeployment({
    namespace: ns.name,
    body: {
      metadata: { name: green, labels: { ...labels, 'cutover.io/target': VIEW.target }, annotations: { 'cutover.io/upgrade': `${VIEW.target}.u2` } },
      spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'squatter:1' }] } } },
    },
  });
  const serviceBefore = await selector(ORDERS.service);

  const final = await ended(await start(ORDERS, 'view-3.0.0'));
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'deployGreen', type: 'NotOwned' });
  expect(final.failure.message).toBe(
    `Deployment ${green} belongs to target '${VIEW.target}' (created by upgrade ${VIEW.target}.u2), not to target '${ORDERS.target}'; cutover leaves it as it is`,
  );
  expect((await deployment(green))!.metadata).toMatchObject({ uid: theirs.metadata!.uid, generation: theirs.metadata!.generation, labels: theirs.metadata!.labels });
  expect((await deployment(ORDERS.blue))!.metadata!.labels).toEqual({ app: 'orders' });
  expect(await selector(ORDERS.service)).toEqual(serviceBefore);
  // what the upgrade made before (green's database, at prepare) the rollback removed
  expect(await comment(releaseDatabaseName(green))).toBeUndefined();
  await ns.apps.deleteNamespacedDeployment({ name: green, namespace: ns.name });
});

test("two targets whose names collided: each gets its own release and database; one's rollback leaves the other's serving workload and database untouched", async () => {
  expect(legacyReleaseName(ORDERS.target, 'view-2.0.0')).toBe(legacyReleaseName(VIEW.target, '2.0.0'));
  const viewGreen = releaseName(VIEW.target, '2.0.0');
  const ordersGreen = releaseName(ORDERS.target, 'view-2.0.0');
  expect(ordersGreen).not.toBe(viewGreen);

  const view = await ended(await start(VIEW, '2.0.0'));
  expect(view.status).toBe('SUCCEEDED');
  const serving = (await deployment(viewGreen))!;
  expect(serving.metadata!.labels).toMatchObject({ 'cutover.io/target': VIEW.target });
  expect(serving.metadata!.annotations).toMatchObject({ 'cutover.io/upgrade': view.upgradeId });
  expect(JSON.parse((await comment(releaseDatabaseName(viewGreen)))!.replace(/^cutover-owner /, ''))).toEqual({ target: VIEW.target, upgrade: view.upgradeId, release: viewGreen });

  const id = await start(ORDERS, 'view-2.0.0', { standbyWindow: '10m' });
  await eventually(async () => (await read(id)).step === 'standBy', 60_000);
  expect(await deployment(ordersGreen)).toBeDefined();
  expect((await call(app, 'POST', `/v1/upgrades/${id}/rollback`, { as: 'operator', body: { reason: 'wrong totals' } })).status).toBe(200);
  expect((await ended(id)).status).toBe('ROLLED_BACK');

  expect(await deployment(ordersGreen)).toBeUndefined();
  expect(await comment(releaseDatabaseName(ordersGreen))).toBeUndefined();
  // the other target's release: the same Deployment, its database, still serving
  expect((await deployment(viewGreen))!.metadata!.uid).toBe(serving.metadata!.uid);
  expect(await comment(releaseDatabaseName(viewGreen))).toBeDefined();
  expect(await releaseStatus(kubelets[VIEW.target]!, viewGreen)).toMatchObject({ phase: 'SERVING' });
  expect(await releaseStatus(kubelets[ORDERS.target]!, ORDERS.blue)).toMatchObject({ phase: 'SERVING' });
});

test('a terminate after deployGreen leaves an orphan: GET /v1/targets/:target shows it and who left it; the clean-up waits for the running upgrade (409), then removes it; what serves stays', async () => {
  const id = await start(ORDERS, '5.0.0');
  await eventually(async () => (await read(id)).step === 'waitReady', 60_000);
  await env.client.workflow.getHandle(upgradeWorkflowId(ORDERS.target), id.split('.')[1]).terminate('test: a terminate skips the rollback');
  const orphan = releaseName(ORDERS.target, '5.0.0');

  const viewAsked = Date.now();
  const seen = await target(ORDERS);
  const viewMs = Date.now() - viewAsked;
  const byName = Object.fromEntries((seen.releases as { name: string }[]).map((r) => [r.name, r]));
  expect(Object.keys(byName).sort()).toEqual([ORDERS.blue, orphan].sort());
  expect(byName[ORDERS.blue]).toMatchObject({ serving: true, orphan: false, weight: 100, owner: { target: ORDERS.target }, objects: [`Deployment ${ORDERS.blue}`, `database ${releaseDatabaseName(ORDERS.blue)}`] });
  expect(byName[orphan]).toEqual({
    name: orphan,
    version: '5.0.0',
    owner: { target: ORDERS.target, upgrade: id, execution: 'TERMINATED' },
    weight: 0,
    serving: false,
    orphan: true,
    objects: [`Deployment ${orphan}`, `database ${releaseDatabaseName(orphan)}`],
  });
  // the other target's releases are its own
  expect((await target(VIEW)).releases.map((r: { name: string }) => r.name)).toEqual([releaseName(VIEW.target, '2.0.0')]);

  // while another upgrade runs, its releases are not orphans, and the clean-up is refused
  const running = await start(ORDERS, '6.0.0', { approval: 'manual' });
  await eventually(async () => (await read(running)).status === 'AWAITING_APPROVAL', 60_000);
  const during = await target(ORDERS);
  expect(during.upgrade).toEqual({ id: running, status: 'AWAITING_APPROVAL', releases: [ORDERS.blue, releaseName(ORDERS.target, '6.0.0')] });
  expect(during.releases.filter((r: { orphan: boolean }) => r.orphan).map((r: { name: string }) => r.name)).toEqual([orphan]);
  const refused = await call(app, 'POST', `/v1/targets/${ORDERS.target}/cleanup`, { as: 'operator', body: { reason: 'remove what the terminate left' } });
  expect(refused.status).toBe(409);
  expect(refused.json.error.message).toBe(`target ${ORDERS.target} has an upgrade running: ${running}; a clean-up waits until it ends (or roll it back, or abort it)`);
  expect((await call(app, 'POST', `/v1/targets/${ORDERS.target}/cleanup`, { as: 'viewer', body: { reason: 'x' } })).status).toBe(403);
  await call(app, 'POST', `/v1/upgrades/${running}/rollback`, { as: 'operator', body: { reason: 'not now' } });
  expect((await ended(running)).status).toBe('ROLLED_BACK');

  const cleanupAsked = Date.now();
  const accepted = await call(app, 'POST', `/v1/targets/${ORDERS.target}/cleanup`, { as: 'operator', body: { reason: 'remove what the terminate left' } });
  expect(accepted.status).toBe(202);
  expect(accepted.json).toMatchObject({ target: ORDERS.target, requestedBy: 'operator', links: { self: `/v1/targets/${ORDERS.target}` } });
  const cleanup = await eventually(async () => {
    const t = await target(ORDERS);
    return t.cleanup?.status !== 'RUNNING' && t.cleanup;
  }, 60_000);
  console.log(`GET /v1/targets/:target (a listing workflow on the worker) ${viewMs} ms; clean-up of one orphan, request to SUCCEEDED seen ${Date.now() - cleanupAsked} ms`);
  expect(cleanup).toMatchObject({
    cleanupId: accepted.json.id,
    status: 'SUCCEEDED',
    orphans: [orphan],
    removed: [{ release: orphan, removed: [`workload ${orphan}`, `database ${releaseDatabaseName(orphan)}`], left: [] }],
    failed: [],
  });
  expect(await deployment(orphan)).toBeUndefined();
  expect(await comment(releaseDatabaseName(orphan))).toBeUndefined();
  const after = await target(ORDERS);
  expect(after.releases.map((r: { name: string; serving: boolean; orphan: boolean }) => [r.name, r.serving, r.orphan])).toEqual([[ORDERS.blue, true, false]]);
  expect(await releaseStatus(kubelets[ORDERS.target]!, ORDERS.blue)).toMatchObject({ phase: 'SERVING' });
  expect(await comment(releaseDatabaseName(ORDERS.blue))).toBeDefined();
  // services still learn their phase after a clean-up ran last: from the upgrade before it
  const phase = await call(app, 'GET', `/v1/targets/${ORDERS.target}/releases/${ORDERS.blue}/phase`, { as: 'viewer' });
  expect(phase.json).toMatchObject({ phase: 'SERVING', weight: 100, upgradeId: running });
}, 240_000);
