/**
 * The emqx strategy end to end: the shipped workflow on the dev server, the
 * real Kubernetes and EMQX activities, the suite's Kubernetes control plane
 * (real StatefulSet controller, KWOK pods) and its EMQX API server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { V1EnvVar, V1Pod, V1Service } from '@kubernetes/client-node';
import { Mirror } from '../../../../src/activities/platforms/kubernetes/mirror';
import { releaseName, upgradeWorkflowId, type UpgradeState } from '../../../../src/domain/upgrade';
import type { GivenOptions } from '../../../../src/domain/upgradeSettings';
import { rollbackUpdate, stateQuery } from '../../../../src/workflows/messages';
import { EmqxOnKube, FAST_DRAIN } from '../../../support/emqxOnKube';
import { kubeConfigFor } from '../../../support/kubeControlPlane';
import { connectSharedServer, eventually, startWorker, uniqueId, upgradeInput, type RunningWorker } from '../../../support/temporal';
import { signedUpdate } from '../../../support/steering';

let env: TestWorkflowEnvironment;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  env = await connectSharedServer();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await env?.teardown();
});

async function cluster(opts: Parameters<typeof EmqxOnKube.start>[1] = {}) {
  const target = uniqueId('mqtt');
  const sys = await EmqxOnKube.start(target, opts);
  cleanups.push(() => sys.close());
  return sys;
}

async function worker(sys: EmqxOnKube, taskQueue = uniqueId('emqx')): Promise<RunningWorker & { taskQueue: string }> {
  const w = await startWorker(env, taskQueue, sys.activities(env.client), { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! } });
  cleanups.push(() => w.stop());
  return { ...w, taskQueue };
}

function start(sys: EmqxOnKube, taskQueue: string, over: Parameters<typeof upgradeInput>[0] = {}, options: GivenOptions = {}): Promise<WorkflowHandle> {
  const input = upgradeInput({ kind: 'emqx', target: sys.target.name, version: '5.8.0', settings: { emqx: FAST_DRAIN }, ...over, options: { maxAttempts: 3, ...options } });
  return env.client.workflow.start('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(input.target), args: [input] });
}

const greenOf = (sys: EmqxOnKube) => releaseName(sys.target.name, '5.8.0');
/** Writes of blue's replica count, in order, with where they are in the log. */
const blueScales = (sys: EmqxOnKube) =>
  sys
    .entries()
    .map((e, at) => ({ e, at }))
    // a write refused with 409 (the controller's status write moved the resourceVersion) is retried, not applied
    .filter(({ e }) => e.src === 'k8s' && /^PUT .*\/statefulsets\/emqx\/scale$/.test(e.what) && (e.request?.status ?? 0) < 300)
    .map(({ e, at }) => ({ at, replicas: (e.body as { spec: { replicas: number } }).spec.replicas }));
/** Where in the log the Service was patched to select green (the first patch pins it to blue). */
const switchedToGreen = (sys: EmqxOnKube) =>
  sys.entries().findIndex((e) => e.src === 'k8s' && /^PATCH .*\/services\/emqx$/.test(e.what) && JSON.stringify(e.body).includes(greenOf(sys)));
const nodes = (release: string) => [0, 1, 2].map((i) => `emqx@${release}-${i}`);

test('a 3-node cluster: green joins, then the Service switches, then blue is evacuated node by node at the set rates and scaled down only after the window', async () => {
  const sys = await cluster();
  const { taskQueue } = await worker(sys);
  const h = await start(sys, taskQueue);
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  const green = greenOf(sys);

  // from green's pods Ready to the switch: one activity, then setWeights, nothing between (verify takes its reading)
  const run = await activitiesRun(h);
  expect(run.slice(run.indexOf('waitGreenJoined'), run.indexOf('setWeights') + 1)).toEqual(['waitGreenJoined', 'setWeights']);
  expect(final.details).toMatchObject({ greenNodes: nodes(green), blueNodes: nodes('emqx'), clusterHealth: { healthy: true, members: [...nodes('emqx'), ...nodes(green)] } });

  // green joined the cluster before the Service moved to it (emqx-operator #941)
  const switched = switchedToGreen(sys);
  expect(switched).toBeGreaterThan(0);
  for (const node of nodes(green)) expect(sys.indexOf('kubelet', new RegExp(`^join ${node}$`))).toBeLessThan(switched);
  expect(sys.entries()[switched].body).toMatchObject({ spec: { selector: { 'cutover.io/release': green } } });

  // then each blue node in the operator's order, evacuated at the rates onto green; blue stands by whole meanwhile
  let from = switched;
  for (const node of ['emqx@emqx-2', 'emqx@emqx-1', 'emqx@emqx-0']) {
    const evac = sys.indexOf('emqx', new RegExp(`^POST /api/v5/load_rebalance/${node}/evacuation/start$`), from);
    expect(evac).toBeGreaterThan(from);
    expect(sys.entries()[evac].body).toEqual({ conn_evict_rate: 100, sess_evict_rate: 100, wait_takeover: 1, wait_health_check: 1, migrate_to: nodes(green) });
    from = evac;
  }
  // after the standby window, clean-up scales blue down one node at a time
  const scales = blueScales(sys);
  expect(scales.map((e) => e.replicas)).toEqual([2, 1, 0]);
  expect(scales[0]!.at).toBeGreaterThan(from);
  expect(sys.emqx.requestsTo('POST', '/api/v5/load_rebalance/')).toHaveLength(3);

  // the evacuations, as the operator's status shows them
  const status = final.details.nodeEvacuationsStatus as { node: string; state: string; connection_eviction_rate: number }[];
  expect(status.map((s) => [s.node, s.state, s.connection_eviction_rate])).toEqual([
    ['emqx@emqx-2', 'prohibiting', 100],
    ['emqx@emqx-1', 'prohibiting', 100],
    ['emqx@emqx-0', 'prohibiting', 100],
  ]);
  // clients moved to green: nothing was dropped on the floor
  const onGreen = nodes(green).reduce((sum, n) => sum + sys.emqx.node(n).connections, 0);
  expect(onGreen).toBe(900);

  // blue is gone, with its claims, and its nodes are no longer listed in the cluster (emqx-operator #1021, #1151)
  expect(await sys.ns.statefulSet('emqx')).toBeUndefined();
  await sys.ns.until(async () => (await sys.ns.claims()).every((c) => !/^data-emqx-\d$/.test(c)));
  expect(await sys.ns.claims()).toEqual(nodes(green).map((n) => `data-${n.slice(5)}`));
  expect(sys.emqx.nodeNames().sort()).toEqual(nodes(green));
  expect(final.details.nodesLeftInCluster).toBeUndefined();
  expect(await sys.ns.endpoints('emqx')).toEqual(nodes(green).map((n) => n.slice(5)));
  expect(final.releases.blue).toMatchObject({ name: 'emqx', version: '5.7.0', phase: 'OBSOLETE' });
  expect(final.releases.green).toMatchObject({ name: green, phase: 'SERVING' });
}, 90_000);

test('with scaleDownDuringDrain, each blue node is removed as soon as it is drained, as the operator does', async () => {
  const sys = await cluster();
  const { taskQueue } = await worker(sys);
  const final = (await (await start(sys, taskQueue, { settings: { emqx: { ...FAST_DRAIN, scaleDownDuringDrain: true } } })).result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  let from = 0;
  for (const [i, node] of ['emqx@emqx-2', 'emqx@emqx-1', 'emqx@emqx-0'].entries()) {
    const evac = sys.indexOf('emqx', new RegExp(`^POST /api/v5/load_rebalance/${node}/evacuation/start$`), from);
    expect(evac).toBeGreaterThan(from);
    const scale = blueScales(sys).find((s) => s.at > evac)!;
    expect(scale.replicas).toBe(2 - i);
    from = scale.at;
  }
}, 90_000);

test('rollback in the standby window: every blue node is there, evacuations stopped, the Service on blue, green evacuated back and gone, nothing of blue scaled', async () => {
  const sys = await cluster();
  const { taskQueue } = await worker(sys);
  const h = await start(sys, taskQueue, {}, { standbyWindowMs: 60_000 });
  await eventually(async () => ((await h.query(stateQuery)) as UpgradeState).step === 'standBy', 60_000);
  for (const node of ['emqx@emqx-0', 'emqx@emqx-1', 'emqx@emqx-2']) expect(sys.emqx.node(node)).toMatchObject({ status: 'running', evacuation: 'prohibiting' });
  await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'green misbehaves' });
  const final = (await h.result()) as UpgradeState;

  expect(final.status).toBe('ROLLED_BACK');
  expect(blueScales(sys)).toEqual([]);
  expect(await sys.ns.endpoints('emqx')).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
  for (const node of ['emqx@emqx-0', 'emqx@emqx-1', 'emqx@emqx-2']) expect(sys.emqx.node(node)).toMatchObject({ status: 'running', evacuation: undefined });
  expect(await sys.ns.statefulSet(greenOf(sys))).toBeUndefined();
  expect(sys.emqx.nodeNames().sort()).toEqual(['emqx@emqx-0', 'emqx@emqx-1', 'emqx@emqx-2']);
  expect(nodes('emqx').reduce((sum, n) => sum + sys.emqx.node(n).connections, 0)).toBe(900);
}, 90_000);

test('rollback during the evacuation of the second node: Service on blue, no evacuation running, no green workload', async () => {
  const sys = await cluster({ connections: 3000 });
  // every version of the Service as the API server's watch delivers it, and the labels of every pod that ever ran
  const watched = followService(sys);
  cleanups.push(async () => watched.stop());
  await watched.started;
  const { taskQueue } = await worker(sys);
  const h = await start(sys, taskQueue);
  await eventually(async () => sys.emqx.requestsTo('POST', '/api/v5/load_rebalance/emqx@emqx-1/evacuation/start').length > 0, 60_000);
  await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'error rate up on green' });
  const final = (await h.result()) as UpgradeState;

  expect(final.status).toBe('ROLLED_BACK');
  // the first upgrade's blue pods carry no release label: green's pods (same app label) must never be selected with them, by
  // any version of the selector from the switch back on, however briefly it stood
  const toGreen = watched.selectors.findIndex((sel) => sel['cutover.io/release'] === greenOf(sys));
  expect(toGreen).toBeGreaterThan(0);
  const afterBack = watched.selectors.slice(toGreen + 1);
  expect(afterBack.length).toBeGreaterThan(0);
  expect(watched.podsEverSeen().filter((p) => p.name.startsWith(greenOf(sys)))).toHaveLength(3);
  for (const selector of afterBack) expect({ selector, selects: watched.selectedBy(selector) }).toEqual({ selector, selects: ['emqx-0', 'emqx-1', 'emqx-2'] });
  expect(await sys.ns.endpoints('emqx')).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
  expect(await sys.ns.statefulSet(greenOf(sys))).toBeUndefined();
  expect((await sys.ns.statefulSet('emqx'))?.spec?.replicas).toBe(3);
  for (const node of ['emqx@emqx-0', 'emqx@emqx-1', 'emqx@emqx-2']) {
    expect(sys.emqx.node(node)).toMatchObject({ status: 'running', evacuation: undefined });
  }
  // green's nodes were evacuated back onto blue and then left the cluster
  expect(sys.emqx.nodeNames().sort()).toEqual(['emqx@emqx-0', 'emqx@emqx-1', 'emqx@emqx-2']);
  expect(final.releases).toMatchObject({ blue: { phase: 'SERVING' }, green: { phase: 'OBSOLETE' } });
}, 90_000);

/** Follows the target's Service and pods by watch: each selector the Service has had, in order, and the pods any of them could select. */
function followService(sys: EmqxOnKube) {
  const kc = kubeConfigFor(sys.ns.url, sys.ns.token);
  const namespace = sys.ns.name;
  const selectors: Record<string, string>[] = [];
  const pods = new Map<string, { name: string; labels: Record<string, string> }>();
  const service: Mirror<V1Service> = new Mirror<V1Service>({
    kc,
    path: `/api/v1/namespaces/${namespace}/services`,
    fieldSelector: 'metadata.name=emqx',
    list: () => sys.ns.core.listNamespacedService({ namespace, fieldSelector: 'metadata.name=emqx' }),
    onChange: () => {
      const selector = service.items()[0]?.spec?.selector ?? {};
      if (JSON.stringify(selector) !== JSON.stringify(selectors.at(-1))) selectors.push(selector);
    },
    onError: () => undefined,
  });
  const podMirror: Mirror<V1Pod> = new Mirror<V1Pod>({
    kc,
    path: `/api/v1/namespaces/${namespace}/pods`,
    list: () => sys.ns.core.listNamespacedPod({ namespace }),
    onChange: () => podMirror.items().forEach((p) => pods.set(p.metadata!.uid!, { name: p.metadata!.name!, labels: p.metadata?.labels ?? {} })),
    onError: () => undefined,
  });
  const podsEverSeen = () => [...pods.values()];
  return {
    selectors,
    started: Promise.all([service.start(), podMirror.start()]),
    podsEverSeen,
    /** The names of the pods (of any time) whose labels the selector matches. */
    selectedBy: (selector: Record<string, string>) =>
      [...new Set(podsEverSeen().filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v)).map((p) => p.name))].sort(),
    stop: () => [service, podMirror].forEach((m) => m.stop()),
  };
}

/**
 * GET /api/v5/nodes leaves out a running node whose node-info RPC failed
 * (emqx_mgmt:list_nodes/0 keeps the infos that came back; the stand-in's
 * "unreachable" node, held to the contract fixtures). One reading cannot tell
 * it from a node gone, so verify reads again, and a rollback stops its
 * evacuation anyway.
 */
describe('a running node the node list leaves out for a while', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test('verify waits for it instead of rolling back "cluster unhealthy"', async () => {
    const sys = await cluster();
    const { taskQueue } = await worker(sys);
    sys.emqx.setUnreachable('emqx@emqx-0', true);
    const h = await start(sys, taskQueue);
    await eventually(async () => ((await h.query(stateQuery)) as UpgradeState).step === 'verify', 60_000);
    await sleep(2000);
    expect(((await h.query(stateQuery)) as UpgradeState).status).toBe('RUNNING');
    sys.emqx.setUnreachable('emqx@emqx-0', false);
    const final = (await h.result()) as UpgradeState;
    expect(final.status).toBe('SUCCEEDED');
    expect(final.details.clusterHealth).toMatchObject({ healthy: true });
  }, 90_000);

  test('a rollback stops its evacuation once its RPC answers again', async () => {
    const sys = await cluster();
    const { taskQueue } = await worker(sys);
    const h = await start(sys, taskQueue);
    await eventually(async () => sys.emqx.node('emqx@emqx-2').evacuation !== undefined, 60_000);
    sys.emqx.setUnreachable('emqx@emqx-2', true);
    await signedUpdate(h, rollbackUpdate, { by: 'oncall', reason: 'error rate up on green' });
    await sleep(2000);
    expect(sys.emqx.node('emqx@emqx-2').evacuation).toBeDefined();
    sys.emqx.setUnreachable('emqx@emqx-2', false);
    const final = (await h.result()) as UpgradeState;
    expect(final.status).toBe('ROLLED_BACK');
    for (const node of ['emqx@emqx-0', 'emqx@emqx-1', 'emqx@emqx-2']) expect(sys.emqx.node(node)).toMatchObject({ status: 'running', evacuation: undefined });
  }, 90_000);
});

test('a bad image rolls back by itself within the readiness limit, blue serving throughout; the fixed image then upgrades', async () => {
  const sys = await cluster();
  // an image tag ending in -typo never pulls on the test cluster (test/support/kwokStages.yaml)
  const { taskQueue } = await worker(sys);
  const bad = (await (await start(sys, taskQueue, { image: 'emqx/emqx:5.8.0-typo' }, { stepTimeoutMs: { waitReady: 3000 } })).result()) as UpgradeState;
  expect(bad.status).toBe('ROLLED_BACK');
  expect(bad.failure).toMatchObject({ step: 'waitReady', type: 'StepTimeout' });
  expect(switchedToGreen(sys)).toBe(-1);
  expect(await sys.ns.statefulSet(greenOf(sys))).toBeUndefined();
  expect(await sys.ns.endpoints('emqx')).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);

  // emqx-operator #1214: the same upgrade with the image fixed goes through
  const good = (await (await start(sys, taskQueue, { image: 'emqx/emqx:5.8.0' })).result()) as UpgradeState;
  expect(good.status).toBe('SUCCEEDED');
  expect(await sys.ns.endpoints('emqx')).toEqual(nodes(greenOf(sys)).map((n) => n.slice(5)));
}, 90_000);

test('open source before 5.9 has no evacuation: plan says so, blue keeps its clients through the window and clean-up removes its pods one at a time', async () => {
  const sys = await cluster({ edition: 'Opensource' });
  const { taskQueue } = await worker(sys);
  const final = (await (await start(sys, taskQueue)).result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  expect(final.details.emqx).toBe('EMQX 5.7.0 (Opensource); drain by pod-removal');
  expect(final.details.drainMode).toMatch(/^pod-removal/);
  // decided at plan from the version and edition, not found out on blue's first node
  expect(sys.emqx.requestsTo('POST', '/api/v5/load_rebalance/')).toEqual([]);
  expect(blueScales(sys).map((s) => s.replicas)).toEqual([2, 1, 0]);
  expect((final.details.nodeEvacuationsStatus as { state: string }[]).map((s) => s.state)).toEqual(['removed', 'removed', 'removed']);
}, 90_000);

/** The activities the run scheduled, by type, in order. */
const activitiesRun = async (h: WorkflowHandle) =>
  ((await h.fetchHistory()).events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);

test('a green node that is Ready but never joins the cluster never gets traffic: waitGreenJoined waits for it until the time limit', async () => {
  const sys = await cluster();
  const never = `emqx@${greenOf(sys)}-1`;
  sys.neverJoins.add(never);
  const { taskQueue } = await worker(sys);
  const h = await start(sys, taskQueue, {}, { stepTimeoutMs: { waitReady: 10_000 } });
  // its pods all Ready, the one activity from readiness to membership still waits, its heartbeat naming the node
  const heartbeat = async () => {
    const pending = (await h.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'waitGreenJoined');
    return (pending?.heartbeatDetails?.payloads ?? []).map((p) => Buffer.from(p.data!).toString()).join();
  };
  await eventually(async () => (await heartbeat()).includes(`waiting for ${never} (absent)`), 60_000);
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'waitReady', type: 'StepTimeout' });
  expect(switchedToGreen(sys)).toBe(-1);
  const run = await activitiesRun(h);
  expect(run).toContain('waitGreenJoined');
  expect(run).not.toContain('waitClusterJoined');
  expect(run).not.toContain('setWeights');
}, 60_000);

test('the worker killed during evacuation: a new worker resumes, and no node is evacuated or scaled down twice', async () => {
  const sys = await cluster({ connections: 3000, tickMs: 20 });
  const taskQueue = uniqueId('emqx-crash');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, '../../../support/emqxWorkerProcess.ts'), taskQueue, JSON.stringify(sys.target), sys.ns.proxyUrl, sys.ns.token],
    { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, TEST_EMQX_KEY: sys.emqx.apiKey, TEST_EMQX_SECRET: sys.emqx.apiSecret } },
  );
  cleanups.push(async () => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)));
  });
  const h = await start(sys, taskQueue);
  await eventually(async () => sys.emqx.node('emqx@emqx-1').evacuation === 'evicting_conns', 60_000);
  child.kill('SIGKILL');

  await worker(sys, taskQueue);
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  for (const node of ['emqx@emqx-2', 'emqx@emqx-1', 'emqx@emqx-0']) {
    expect(sys.emqx.requestsTo('POST', `/api/v5/load_rebalance/${node}/evacuation/start`)).toHaveLength(1);
  }
  expect(blueScales(sys).map((s) => s.replicas)).toEqual([2, 1, 0]);
  expect(sys.entries().filter((e) => e.src === 'k8s' && /^POST .*\/statefulsets$/.test(e.what))).toHaveLength(1);
}, 120_000);

test('open source 5.8 with evacuation asked for: refused at plan, naming the version, the missing feature and what to do, nothing changed', async () => {
  const sys = await cluster({ edition: 'Opensource', blueVersion: '5.8.0' });
  const { taskQueue } = await worker(sys);
  const h = await start(sys, taskQueue, { version: '5.8.1', settings: { emqx: { ...FAST_DRAIN, drain: 'evacuation' } } });
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'plan', type: 'Unsupported' });
  expect(final.failure?.message).toMatch(
    /^options\.emqx\.drain is 'evacuation', but blue runs EMQX 5\.8\.0 \(Opensource\), which has no node evacuation: it is Enterprise-only before 5\.9 .*Leave options\.emqx\.drain out/,
  );
  expect(sys.entries().filter((e) => e.src === 'k8s' && !/^GET /.test(e.what))).toEqual([]);
  expect(sys.emqx.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v5/nodes']);
  expect(await sys.ns.endpoints('emqx')).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
}, 60_000);

describe('clear errors and nothing changed', () => {
  test.each([
    ['wrong EMQX credentials', () => ({ emqx: { apiKey: { env: 'TEST_EMQX_KEY' }, apiSecret: { env: 'WRONG' } } }), /EMQX|credential|401|Unauthorized|WRONG/i],
    ['an unreachable EMQX API', () => ({ emqx: { apiUrl: 'http://127.0.0.1:9', apiKey: { env: 'TEST_EMQX_KEY' }, apiSecret: { env: 'TEST_EMQX_SECRET' } } }), /127\.0\.0\.1:9/],
    ['a missing workload', (sys: EmqxOnKube) => ({ kubernetes: { ...sys.target.kubernetes, workload: { kind: 'StatefulSet' as const, name: 'nope' } } }), /nope/],
  ])('%s', async (_what, override, message) => {
    const sys = await cluster();
    const taskQueue = uniqueId('emqx-bad');
    const w = await startWorker(env, taskQueue, sys.activities(env.client, override(sys) as never), { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! } });
    cleanups.push(() => w.stop());
    // an unreachable API may come back: plan retries it until its time limit, then rolls back naming it
    const h = await start(sys, taskQueue, {}, { stepTimeoutMs: { plan: 5000 } });
    const final = (await h.result()) as UpgradeState;
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.failure?.message).toMatch(message);
    expect((await h.query(stateQuery)).failure).toEqual(final.failure);
    // nothing changed: blue serves as before, no green, no evacuation
    expect(await sys.ns.statefulSet(greenOf(sys))).toBeUndefined();
    expect((await sys.ns.statefulSet('emqx'))?.spec?.replicas).toBe(3);
    expect(sys.emqx.requestsTo('POST', '/api/v5/load_rebalance/')).toEqual([]);
    expect(await sys.ns.endpoints('emqx')).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
  }, 60_000);
});

/**
 * Green's pods must be found by blue's cluster under the discovery strategy
 * its nodes use, with the node names the EMQX Operator gives them. The
 * harness names each node and lets it join only as EMQX would
 * (test/support/emqxClustering.ts); green is cutover's copy of blue.
 */
describe("green joins blue's cluster under each discovery strategy EMQX supports on Kubernetes", () => {
  const podName: V1EnvVar = { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } };
  const podIP: V1EnvVar = { name: 'EMQX_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } };
  const headless = (sys: EmqxOnKube) => `emqx-headless.${sys.ns.name}.svc.cluster.local`;
  const CORE_NAME = 'emqx@{pod}.emqx-headless.{namespace}.svc.cluster.local';

  /** Upgrades to `version`, then: green's nodes joined through discovery, were evacuated into, and blue's left the cluster. */
  async function upgradesThrough(sys: EmqxOnKube, version = '5.8.0'): Promise<string[]> {
    const { taskQueue } = await worker(sys);
    const blueNodes = sys.emqx.nodeNames();
    const final = (await (await start(sys, taskQueue, { version })).result()) as UpgradeState;
    expect(final.status).toBe('SUCCEEDED');
    const green = final.details.greenNodes as string[];
    for (const node of green) expect(sys.entries().some((e) => e.src === 'kubelet' && e.what === `join ${node}`)).toBe(true);
    expect((final.details.nodeEvacuationsStatus as { node: string; session_recipients: string[] }[]).map((e) => e.node).sort()).toEqual([...blueNodes].sort());
    expect(sys.emqx.nodeNames().sort()).toEqual([...green].sort());
    return green;
  }

  test('dns, SRV records of the headless Service: cores named emqx@<pod>.<headless service>.<namespace>.svc.cluster.local (the Operator)', async () => {
    // add_emqx_core.go's environment
    const sys = await cluster({
      env: (ns) => [
        podName,
        { name: 'EMQX_CLUSTER__DISCOVERY_STRATEGY', value: 'dns' },
        { name: 'EMQX_CLUSTER__DNS__RECORD_TYPE', value: 'srv' },
        { name: 'EMQX_CLUSTER__DNS__NAME', value: `emqx-headless.${ns}.svc.cluster.local` },
        { name: 'EMQX_HOST', value: '$(POD_NAME).$(EMQX_CLUSTER__DNS__NAME)' },
      ],
      nodeName: CORE_NAME,
    });
    expect(sys.emqx.nodeNames()).toEqual([0, 1, 2].map((i) => `emqx@emqx-${i}.${headless(sys)}`));
    expect(await upgradesThrough(sys)).toEqual([0, 1, 2].map((i) => `emqx@${greenOf(sys)}-${i}.${headless(sys)}`));
  }, 90_000);

  test('dns, A records: replicants in a Deployment, named emqx@<pod IP> (the Operator), which the nodeName template {podIP} gives', async () => {
    // add_emqx_repl.go's environment (A records here, as a Deployment's pods have no SRV name)
    const sys = await cluster({
      kind: 'Deployment',
      env: (ns) => [
        { name: 'EMQX_CLUSTER__DISCOVERY_STRATEGY', value: 'dns' },
        { name: 'EMQX_CLUSTER__DNS__RECORD_TYPE', value: 'a' },
        { name: 'EMQX_CLUSTER__DNS__NAME', value: `emqx-headless.${ns}.svc.cluster.local` },
        podIP,
      ],
      nodeName: 'emqx@{podIP}',
    });
    const ips = (pods: V1Pod[]) => pods.map((p) => `emqx@${p.status!.podIP}`).sort();
    expect(sys.emqx.nodeNames().sort()).toEqual(ips(await sys.ns.pods('app=emqx')));
    const green = await upgradesThrough(sys);
    expect([...green].sort()).toEqual(ips(await sys.ns.pods(`cutover.io/release=${greenOf(sys)}`)));
  }, 90_000);

  test('k8s, the Endpoints of the headless Service by hostname', async () => {
    const sys = await cluster({
      env: (ns) => [
        { name: 'EMQX_CLUSTER__DISCOVERY_STRATEGY', value: 'k8s' },
        { name: 'EMQX_CLUSTER__K8S__APISERVER', value: 'https://kubernetes.default.svc:443' },
        { name: 'EMQX_CLUSTER__K8S__SERVICE_NAME', value: 'emqx-headless' },
        { name: 'EMQX_CLUSTER__K8S__NAMESPACE', value: ns },
        { name: 'EMQX_CLUSTER__K8S__ADDRESS_TYPE', value: 'hostname' },
        { name: 'EMQX_CLUSTER__K8S__SUFFIX', value: 'svc.cluster.local' },
      ],
      nodeName: CORE_NAME,
    });
    expect(await upgradesThrough(sys)).toEqual([0, 1, 2].map((i) => `emqx@${greenOf(sys)}-${i}.${headless(sys)}`));
  }, 90_000);

  test("static seeds: green's name blue's nodes and its own, so the next upgrade finds green once blue is gone", async () => {
    const seeds = JSON.stringify([0, 1, 2].map((i) => `emqx@emqx-${i}`));
    const sys = await cluster({
      env: () => [
        podName,
        { name: 'EMQX_NODE__NAME', value: 'emqx@$(POD_NAME)' },
        { name: 'EMQX_CLUSTER__DISCOVERY_STRATEGY', value: 'static' },
        { name: 'EMQX_CLUSTER__STATIC__SEEDS', value: seeds },
      ],
    });
    const green = await upgradesThrough(sys);
    const env = (await sys.ns.statefulSet(greenOf(sys)))!.spec!.template.spec!.containers[0]!.env!;
    expect(JSON.parse(env.find((e) => e.name === 'EMQX_CLUSTER__STATIC__SEEDS')!.value!)).toEqual([...[0, 1, 2].map((i) => `emqx@emqx-${i}`), ...green]);
    // blue's seeds alone name no running node now: without green's own names this upgrade would never join
    const next = await upgradesThrough(sys, '5.8.1');
    expect(next).toEqual([0, 1, 2].map((i) => `emqx@${releaseName(sys.target.name, '5.8.1')}-${i}`));
  }, 120_000);
});
