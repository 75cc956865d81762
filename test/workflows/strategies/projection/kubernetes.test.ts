/**
 * The projection strategy on Kubernetes, the shipped workflow with the real
 * projection and Kubernetes activities against the suite's control plane,
 * with the shipped Role's rights only: each release is a Deployment's pod on
 * the loopback node whose process (the test kubelet) is the sandbox
 * projection service at its pod IP, told its release by CUTOVER_RELEASE,
 * building its read model from a real PostgreSQL event store and learning
 * its phase from cutover's API, which listens.
 * What a user would notice: green started with its release name, its
 * catch-up followed until it reports ready, the Service moved to green's pod,
 * blue's Deployment and then its database gone after the standby window; a
 * rollback while blue stands by puts the Service back on blue's pod.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../../../src/activities';
import { withClient } from '../../../../src/activities/pg';
import { RELEASE_ENV } from '../../../../src/domain/kubernetes';
import { releaseDatabaseName } from '../../../../src/domain/projection/naming';
import { releaseName, upgradeWorkflowId } from '../../../../src/domain/upgrade';
import { freePort } from '../../../../src/runtime/freePort';
import type { PostgresServer } from '../../../../src/sandbox/postgres';
import { call, testConfig, testServer } from '../../../api/harness';
import { TestNamespace } from '../../../support/kube';
import type { ProjectionKubelet } from '../../../support/projectionKubelet';
import { deployProjectionBlue, startProjectionStore, projectionSecrets, projectionTarget, releaseStatus } from '../../../support/projectionOnKube';
import { applyForCutover, shippedManifests } from '../../../support/shippedRbac';
import { connectSharedServer, eventually, startWorker, uniqueId, type RunningWorker } from '../../../support/temporal';
import { TEST_STEERING_KEYS } from '../../../support/steering';

const SEED = 20_000;
const LABELS = { app: 'orders' };
const OPTIONS = { approval: 'auto', projection: { poll: '250ms', hold: '1s', maxLag: 100, stallAfter: '5s', stallTimeout: '30s' } };

let env: TestWorkflowEnvironment;
let pg: PostgresServer;
let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  env = await connectSharedServer();
  ({ pg, dir } = await startProjectionStore(SEED));
}, 60_000);
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await pg?.stop();
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const databases = async (): Promise<string[]> =>
  withClient(pg.url(), async (c) => (await c.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname));

/**
 * A projection target as a user runs it on Kubernetes: blue 1.4.0 a Deployment of one pod (CUTOVER_RELEASE set to its
 * workload's name, its database made), the Service `orders-query` on it; the API listening, a worker with the shipped Role's token.
 */
async function projectionOnKube() {
  const target = uniqueId('orders');
  const blue = releaseName(target, '1.4.0');
  const green = releaseName(target, '2.0.0');
  const ns = await TestNamespace.create('projection');
  // the services first (their long polls), then the API (its poller of the workflow's state), the workflow, the worker
  const running: { kubelet?: ProjectionKubelet; app?: FastifyInstance; worker?: RunningWorker } = {};
  cleanups.push(async () => {
    await running.kubelet?.stop();
    await running.app?.close();
    await env.client.workflow.getHandle(upgradeWorkflowId(target)).terminate().catch(() => undefined);
    await running.worker?.stop();
    await ns.delete();
  });
  const namespace = ns.name;
  const spec = { target, app: LABELS.app, blue, service: 'orders-query' };
  const targetConfig = projectionTarget(namespace, spec);
  const taskQueue = uniqueId('proj-kube');
  const app = (running.app = await testServer(env.client, testConfig([targetConfig], taskQueue)));
  const apiPort = await freePort();
  await app.listen({ host: '127.0.0.1', port: apiPort });
  const kubelet = (running.kubelet = await deployProjectionBlue(ns, pg, spec, { apiPort, logDir: join(dir, 'logs') }));
  const status = (release: string) => releaseStatus(kubelet, release);
  // blue serves, its read model built over the whole store
  await eventually(async () => {
    const s = await status(blue);
    return s?.phase === 'SERVING' && s.head > 0 && s.position === s.head;
  }, 30_000);

  const token = await applyForCutover(ns, shippedManifests(namespace, undefined, 'rbac.yaml'));
  const activities = createActivities([targetConfig], { kubeConfigFor: () => ns.kubeConfig(token), env: projectionSecrets(pg), pollMs: 200, temporal: env.client, steeringKeys: TEST_STEERING_KEYS });
  // heartbeats reach the server at least twice a second, so the API's view of the catch-up is fresh
  running.worker = await startWorker(env, taskQueue, activities, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! }, maxHeartbeatThrottleInterval: '500 ms' });

  const upgrade = async (options: object) => {
    const started = await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target, version: '2.0.0', options: { ...OPTIONS, ...options } } });
    expect(started.status).toBe(201);
    return started.json.id as string;
  };
  const read = async (id: string) => (await call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
  const podsOf = async (release: string) => (await ns.pods(release === blue ? 'app=orders,!cutover.io/release' : `cutover.io/release=${release}`)).map((p) => p.metadata!.name!);
  return { target, blue, green, ns, app, kubelet, status, upgrade, read, podsOf };
}

test('1.4.0 -> 2.0.0 on Kubernetes: green started with CUTOVER_RELEASE, its catch-up followed until it reports ready, the Service on green; after the window blue\'s Deployment, then its database, gone', async () => {
  const began = Date.now();
  const { blue, green, ns, status, upgrade, read, podsOf } = await projectionOnKube();
  const startedAt = Date.now();
  const id = await upgrade({ standbyWindow: '3s' });

  const seen: { at: number; step: string; lag?: number }[] = [];
  let blueDatabaseInStandBy = false;
  const final = await eventually(async () => {
    const s = await read(id);
    seen.push({ at: Date.now(), step: s.step, lag: s.details?.catchUp?.progress?.lag });
    if (s.step === 'standBy') blueDatabaseInStandBy ||= (await databases()).includes(releaseDatabaseName(blue));
    return ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'].includes(s.status) && s;
  }, 60_000);
  expect(final.status).toBe('SUCCEEDED');
  const at = (step: string) => (seen.find((x) => x.step === step)?.at ?? NaN) - startedAt;
  console.log(
    `projection on Kubernetes: set-up ${startedAt - began} ms; from the start: waitReady ${at('waitReady')} ms, ` +
      `promote ${at('promote')} ms, standBy ${at('standBy')} ms, SUCCEEDED ${Date.now() - startedAt} ms`,
  );

  // green as cutover started it: a copy of blue's Deployment that knows its release
  const deployment = await ns.apps.readNamespacedDeployment({ name: green, namespace: ns.name });
  expect(deployment.spec!.template.spec!.containers[0]).toMatchObject({ image: 'cutover/sandbox-projection:2.0.0', env: expect.arrayContaining([{ name: RELEASE_ENV, value: green }]) });
  // the catch-up followed through the API while green built, and green's own report that it is ready
  expect(seen.filter((s) => s.step === 'waitReady' && s.lag !== undefined && s.lag > 100).length).toBeGreaterThan(0);
  expect(final.details.catchUp).toMatchObject({ head: expect.any(Number), summary: expect.stringMatching(/^position \d+ of \d+, lag \d+/) });
  expect(final.details.catchUp.lag).toBeLessThanOrEqual(100);
  expect(final.readyReport).toMatchObject({ ready: true, detail: expect.stringMatching(/^position \d+ of \d+; self-test answered customer c1$/) });
  // traffic: the Service selects green's pod only, which serves from its own read model
  expect(await ns.endpoints('orders-query')).toEqual(await podsOf(green));
  expect(await podsOf(green)).toHaveLength(1);
  expect(await status(green)).toMatchObject({ release: green, phase: 'SERVING' });
  expect((await status(green))!.position).toBeGreaterThanOrEqual(SEED - 1);
  // blue kept through the window, then its Deployment and its database removed
  expect(blueDatabaseInStandBy).toBe(true);
  await expect(ns.apps.readNamespacedDeployment({ name: blue, namespace: ns.name })).rejects.toMatchObject({ code: 404 });
  expect(await databases()).not.toContain(releaseDatabaseName(blue));
  expect(await databases()).toContain(releaseDatabaseName(green));
}, 90_000);

test('rollback while blue stands by: the Service back on blue\'s pod (never green\'s, which carries blue\'s app label), blue SERVING, green and its database gone', async () => {
  const { blue, green, ns, app, status, upgrade, read, podsOf } = await projectionOnKube();
  const bluePods = await podsOf(blue);
  const id = await upgrade({ standbyWindow: '10m' });
  await eventually(async () => (await read(id)).step === 'standBy', 60_000);
  expect(await ns.endpoints('orders-query')).toEqual(await podsOf(green));
  // blue learns it stands by from its long poll; it keeps building meanwhile
  await eventually(async () => (await status(blue))?.phase === 'STANDING_BY');

  expect((await call(app, 'POST', `/v1/upgrades/${id}/rollback`, { as: 'operator', body: { reason: 'green answers wrong totals' } })).status).toBe(200);
  const final = await eventually(async () => {
    const s = await read(id);
    return ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'].includes(s.status) && s;
  }, 60_000);
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.releases).toMatchObject({ blue: { phase: 'SERVING' }, green: { phase: 'OBSOLETE' } });
  expect(await ns.endpoints('orders-query')).toEqual(bluePods);
  // blue's pods carry no release label: the selector tells them from green's by their controller's revision label
  expect((await ns.core.readNamespacedService({ name: 'orders-query', namespace: ns.name })).spec!.selector).toEqual({ ...LABELS, 'pod-template-hash': expect.any(String) });
  expect(await eventually(async () => (await status(blue))?.phase === 'SERVING' && (await status(blue)))).toMatchObject({ release: blue });
  await expect(ns.apps.readNamespacedDeployment({ name: green, namespace: ns.name })).rejects.toMatchObject({ code: 404 });
  expect(await databases()).not.toContain(releaseDatabaseName(green));
  expect(await databases()).toContain(releaseDatabaseName(blue));
}, 90_000);
