/**
 * The Kubernetes activities through @kubernetes/client-node against the
 * suite's real control plane (the StatefulSet, Deployment and endpoint
 * controllers, KWOK running the pods), in Temporal's mock activity context.
 * Each test has a namespace of its own.
 */
import { CancelledFailure } from '@temporalio/common';
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { createKubernetesActivities } from '../../../src/activities/platforms/kubernetes/workloads';
import { targetLookup, type KubernetesPlacement } from '../../../src/config/targets';
import { releaseName } from '../../../src/domain/upgrade';
import { kubernetesPlatform, TestNamespace, VIRTUAL_SERVICES, type KubernetesPlatform } from '../../support/kube';
import { exec, failure, run } from '../../support/activityHarness';

const TARGET = 'mqtt-prod';
const GREEN = { name: releaseName(TARGET, '5.8.1'), version: '5.8.1' };
const greenPods = [0, 1, 2].map((i) => `${GREEN.name}-${i}`);
const bluePods = ['emqx-0', 'emqx-1', 'emqx-2'];

let ns: TestNamespace;
beforeEach(async () => {
  ns = await TestNamespace.create('activities');
});
afterEach(() => ns.delete());

function activities(placement: Partial<KubernetesPlacement> = {}, token?: string): KubernetesPlatform {
  return kubernetesPlatform(
    [{ name: TARGET, kind: 'emqx', kubernetes: { namespace: ns.name, workload: { kind: 'StatefulSet', name: 'emqx' }, service: 'emqx', ...placement } }],
    () => ns.kubeConfig(token),
  );
}

const writes = () => ns.writes().map((r) => `${r.method} ${r.path.replace(`/namespaces/${ns.name}/`, '/namespaces/NS/')} ${r.contentType ?? ''}`.trim());

/** Blue seeded and ready, green created and ready: the state before traffic moves. */
async function greenReady(a: KubernetesPlatform): Promise<void> {
  await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' });
  await exec(a.waitWorkloadReady, { target: TARGET, release: GREEN.name });
}

test('the activities keep their connections to the API server: twenty requests, not twenty connections', async () => {
  await ns.seedBlue();
  const a = activities();
  const [connections, requests] = [ns.connections, ns.requests.length];
  // each: read the StatefulSet, list its pods
  for (let i = 0; i < 10; i++) await exec(a.listReleasePods, { target: TARGET, release: 'emqx' });
  expect(ns.requests.length - requests).toBe(20);
  // client-node alone opens one per request; undici opens a second one once, right after the first request
  expect(ns.connections - connections).toBeLessThanOrEqual(2);
});

describe('readBlueRelease', () => {
  test('before any upgrade: the configured workload, its image tag as version, replicas and pods', async () => {
    await ns.seedBlue();
    expect(await exec(activities().readBlueRelease, { target: TARGET })).toEqual({
      name: 'emqx',
      version: '5.8.0',
      image: 'emqx/emqx:5.8.0',
      replicas: 3,
      workload: { kind: 'StatefulSet', name: 'emqx' },
      pods: bluePods,
    });
  });

  test('after a switch: the release the Service selects, with its version annotation', async () => {
    await ns.seedBlue();
    const a = activities();
    await greenReady(a);
    await exec(a.setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } });
    const blue = await exec(a.readBlueRelease, { target: TARGET });
    expect(blue).toMatchObject({ name: GREEN.name, version: '5.8.1', image: 'emqx/emqx:5.8.1', workload: { name: GREEN.name }, pods: greenPods });
  });

  test('a missing workload or Service is NotFound, naming it and the namespace', async () => {
    await ns.seedBlue();
    const err = await failure(exec(activities({ workload: { kind: 'StatefulSet', name: 'emqx-typo' } }).readBlueRelease, { target: TARGET }));
    expect(err.type).toBe('NotFound');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('StatefulSet emqx-typo');
    expect(err.message).toContain(`namespace ${ns.name}`);
    expect(err.message).toContain('statefulsets.apps "emqx-typo" not found');
    const svc = await failure(exec(activities({ service: 'nope' }).readBlueRelease, { target: TARGET }));
    expect(svc.type).toBe('NotFound');
    expect(svc.message).toContain('Service nope');
  });

  test('a refused token (401) and a ServiceAccount without rights (403) are Unauthorized and not retried', async () => {
    await ns.seedBlue();
    const unauthorized = await failure(exec(activities({}, 'wrong-token').readBlueRelease, { target: TARGET }));
    expect(unauthorized.type).toBe('Unauthorized');
    expect(unauthorized.nonRetryable).toBe(true);
    await ns.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'nobody' } } });
    const { status } = await ns.core.createNamespacedServiceAccountToken({ name: 'nobody', namespace: ns.name, body: { spec: { audiences: [] } } });
    const forbidden = await failure(exec(activities({}, status!.token!).readBlueRelease, { target: TARGET }));
    expect(forbidden.type).toBe('Unauthorized');
    expect(forbidden.message).toContain('cannot get resource "services"');
  });

  test('a target without a kubernetes section is Misconfigured, and nothing is asked of the cluster', async () => {
    const a = createKubernetesActivities({ targets: targetLookup([{ name: TARGET, kind: 'emqx' }]), kubeConfigFor: () => ns.kubeConfig() });
    expect((await failure(exec(a.readBlueRelease, { target: TARGET }))).type).toBe('Misconfigured');
    expect(ns.requests).toHaveLength(0);
  });
});

describe('ensureGreenWorkload', () => {
  test('creates green beside blue: release label in selector and template, new image, same claim templates and headless Service', async () => {
    await ns.seedBlue();
    const a = activities();
    const blueBefore = (await ns.statefulSet('emqx'))!.metadata!.generation;
    expect(await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' })).toEqual({ created: true, image: 'emqx/emqx:5.8.1' });
    const green = (await ns.statefulSet(GREEN.name))!;
    expect(green.spec!.selector.matchLabels).toEqual({ app: 'emqx', 'cutover.io/release': GREEN.name });
    expect(green.spec!.template.metadata!.labels).toEqual({ app: 'emqx', 'cutover.io/release': GREEN.name });
    expect(green.spec!.template.spec!.containers[0]!.image).toBe('emqx/emqx:5.8.1');
    expect(green.spec!.template.spec!.containers[0]!.env).toEqual([{ name: 'CUTOVER_RELEASE', value: GREEN.name }]);
    expect(green.spec!.serviceName).toBe('emqx-headless');
    expect(green.spec!.volumeClaimTemplates!.map((t) => t.metadata!.name)).toEqual(['data']);
    expect(green.metadata!.annotations).toEqual({ 'cutover.io/version': '5.8.1', 'cutover.io/copied-from': 'emqx' });
    // the Service is pinned to blue first: its app label alone would pick green's pods too
    expect(writes()).toEqual(['PATCH /api/v1/namespaces/NS/services/emqx application/merge-patch+json', 'POST /apis/apps/v1/namespaces/NS/statefulsets application/json']);
    // blue untouched, and its pods are not green's
    expect((await ns.statefulSet('emqx'))!.metadata!.generation).toBe(blueBefore);
    await exec(a.waitWorkloadReady, { target: TARGET, release: GREEN.name });
    expect((await exec(a.listReleasePods, { target: TARGET, release: 'emqx' })).map((p) => p.name)).toEqual(bluePods);
    expect((await exec(a.listReleasePods, { target: TARGET, release: GREEN.name })).map((p) => p.name)).toEqual(greenPods);
  });

  test('idempotent: a second call sends nothing', async () => {
    await ns.seedBlue();
    const a = activities();
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' });
    ns.requests.length = 0;
    expect(await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' })).toEqual({ created: false, image: 'emqx/emqx:5.8.1' });
    expect(writes()).toEqual([]);
  });

  test('no image given: blue repository tagged with the green version; replicas as asked', async () => {
    await ns.seedBlue({ image: 'registry.local:5000/emqx/emqx:5.8.0' });
    await exec(activities().ensureGreenWorkload, { target: TARGET, green: GREEN, replicas: 2 });
    const green = (await ns.statefulSet(GREEN.name))!;
    expect(green.spec!.template.spec!.containers[0]!.image).toBe('registry.local:5000/emqx/emqx:5.8.1');
    expect(green.spec!.replicas).toBe(2);
  });

  test('a bad image is replaced by a merge patch of the pod template and its stuck pods are recreated, so the fixed pods become ready (#1214)', async () => {
    await ns.seedBlue();
    const a = activities();
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1-typo' });
    await ns.until(async () => (await ns.pods(`cutover.io/release=${GREEN.name}`)).some((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff'));
    ns.requests.length = 0;
    expect(await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' })).toEqual({ created: false, image: 'emqx/emqx:5.8.1' });
    const [patch, ...deletes] = ns.writes();
    expect(patch).toMatchObject({
      method: 'PATCH',
      path: `/apis/apps/v1/namespaces/${ns.name}/statefulsets/${GREEN.name}`,
      contentType: 'application/merge-patch+json',
      body: { spec: { template: { spec: { containers: [expect.objectContaining({ name: 'emqx', image: 'emqx/emqx:5.8.1' })] } } } },
    });
    expect(deletes.map((d) => d.method)).toEqual(deletes.map(() => 'DELETE'));
    expect(deletes.length).toBeGreaterThan(0);
    await exec(a.waitWorkloadReady, { target: TARGET, release: GREEN.name });
    expect((await ns.pods(`cutover.io/release=${GREEN.name}`)).map((p) => p.spec!.containers[0]!.image)).toEqual(['emqx/emqx:5.8.1', 'emqx/emqx:5.8.1', 'emqx/emqx:5.8.1']);
  });

  test('the release serving now is never patched as green', async () => {
    await ns.seedBlue();
    const err = await failure(exec(activities().ensureGreenWorkload, { target: TARGET, green: { name: 'emqx', version: '5.9.0' }, image: 'emqx/emqx:5.9.0' }));
    expect(err.type).toBe('Invalid');
    expect(writes()).toEqual([]);
  });
});

describe('waitWorkloadReady (by watch)', () => {
  test('heartbeats ready/desired and the pods still waiting, and ends as soon as the last pod is Ready', async () => {
    await ns.seedBlue();
    const a = activities();
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' });
    const { result, heartbeats } = run(a.waitWorkloadReady, { target: TARGET, release: GREEN.name });
    expect(await result).toEqual({ release: GREEN.name, ready: 3, desired: 3, waiting: [] });
    expect((heartbeats[0] as { ready: number }).ready).toBeLessThan(3);
    // one list and one watch per collection, no polling (how soon after the last Ready it ends: npm run bench)
    const gets = ns.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/pods'));
    expect(gets.filter((r) => r.query.watch === 'true')).toHaveLength(1);
  });

  /** Green on an image that never pulls, and the wait on it once it reports ImagePullBackOff; the requests seen from the wait on. */
  async function waitingOnBadImage() {
    await ns.seedBlue();
    const a = activities();
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1-typo' });
    ns.requests.length = 0;
    const wait = run(a.waitWorkloadReady, { target: TARGET, release: GREEN.name });
    await ns.until(async () => wait.heartbeats.some((h) => JSON.stringify(h).includes('ImagePullBackOff')));
    return { a, wait };
  }

  test('a bad image: the waiting reason is reported, and cancellation (rollback) ends the wait at once', async () => {
    const { wait: { result, heartbeats, env } } = await waitingOnBadImage();
    expect(heartbeats.at(-1)).toMatchObject({ ready: 0, desired: 3, waiting: expect.arrayContaining([{ pod: expect.stringMatching(new RegExp(`^${GREEN.name}-\\d$`)), reason: 'ImagePullBackOff' }]) });
    // a bad image never becomes ready: the wait ends only by the cancellation
    env.cancel();
    await expect(result).rejects.toBeInstanceOf(CancelledFailure);
  });

  test('the watch expires (410 Gone) and its connection drops while the pods turn Ready: it lists again and ends', async () => {
    const { a, wait: { result } } = await waitingOnBadImage();
    // the next pod watches are answered "expired", and the open ones are cut, while the image is fixed
    ns.expireWatches('/pods', 2);
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' });
    expect(await result).toEqual({ release: GREEN.name, ready: 3, desired: 3, waiting: [] });
    const podLists = ns.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/pods') && r.query.watch !== 'true' && r.query.labelSelector?.includes(GREEN.name));
    expect(podLists.length).toBeGreaterThanOrEqual(2);
  });

  /**
   * Cuts the wait's open watch of a collection (no 410) and holds its resumption at the proxy, as a long retry gap,
   * until `change` has been made and seen by the admin; returns the wait's lists and watches of that collection.
   */
  async function dropWatchDuring(collection: '/pods' | '/statefulsets', wait: { result: Promise<unknown> }, change: () => Promise<void>) {
    const ofCollection = () => ns.requests.filter((r) => r.method === 'GET' && r.path.endsWith(collection));
    const watches = () => ofCollection().filter((r) => r.query.watch === 'true');
    await ns.until(async () => watches().length === 1);
    await new Promise((r) => setTimeout(r, 200)); // the watch is open at the proxy
    let made!: () => void;
    const changed = new Promise<void>((r) => (made = r));
    ns.beforeForwarding((r) => (r.query.watch === 'true' && r.path.endsWith(collection) ? changed : undefined));
    ns.expireWatches(collection, 0);
    await ns.until(async () => watches().length === 2); // the resumption, held
    await change();
    made();
    await wait.result;
    return { lists: ofCollection().filter((r) => r.query.watch !== 'true'), watches: watches() };
  }

  test('a dropped pod watch resumes from its resourceVersion: what changed while it was down comes through it, without a new list', async () => {
    const { wait } = await waitingOnBadImage();
    // while the watch is down, the image is fixed (by the admin, past the proxy) and green's pods are replaced and all turn Ready
    const { lists, watches } = await dropWatchDuring('/pods', wait, async () => {
      await ns.apps.patchNamespacedStatefulSet(
        { name: GREEN.name, namespace: ns.name, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'emqx/emqx:5.8.1' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      await ns.core.deleteCollectionNamespacedPod({ namespace: ns.name, labelSelector: `cutover.io/release=${GREEN.name}` });
      const isReady = (p: V1Pod) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      await ns.until(async () => (await ns.pods(`cutover.io/release=${GREEN.name}`)).filter((p) => isReady(p) && p.spec!.containers[0]!.image === 'emqx/emqx:5.8.1').length === 3);
    });
    expect(await wait.result).toEqual({ release: GREEN.name, ready: 3, desired: 3, waiting: [] });
    expect(lists).toHaveLength(1);
    expect(watches[1]!.query.resourceVersion).toBeTruthy();
    expect(Number(watches[1]!.query.resourceVersion)).toBeGreaterThanOrEqual(Number(watches[0]!.query.resourceVersion));
  });

  test('a dropped StatefulSet watch resumes from its resourceVersion: green scaled to 0 while it was down ends the wait, without a new list', async () => {
    const { wait } = await waitingOnBadImage();
    const { lists, watches } = await dropWatchDuring('/statefulsets', wait, async () => {
      await ns.apps.patchNamespacedStatefulSetScale({ name: GREEN.name, namespace: ns.name, body: { spec: { replicas: 0 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await ns.until(async () => (await ns.statefulSet(GREEN.name))!.status!.observedGeneration === (await ns.statefulSet(GREEN.name))!.metadata!.generation);
    });
    expect(await wait.result).toMatchObject({ release: GREEN.name, ready: 0, desired: 0 });
    expect(lists).toHaveLength(1);
    expect(watches[1]!.query.resourceVersion).toBeTruthy();
    expect(Number(watches[1]!.query.resourceVersion)).toBeGreaterThanOrEqual(Number(watches[0]!.query.resourceVersion));
  });

  test('a missing release is NotFound', async () => {
    await ns.seedBlue();
    expect((await failure(exec(activities().waitWorkloadReady, { target: TARGET, release: 'emqx-gone' }))).type).toBe('NotFound');
  });
});

describe('setWeights without an HTTPRoute (the Service selector)', () => {
  test('green never selected before the switch; to green, then back to the first blue: blue pods only, though green still runs; idempotent', async () => {
    await ns.seedBlue();
    const a = activities();
    // the user's selector {app: emqx} would pick green's pods too: ensureGreenWorkload pins it to blue's revision first
    expect(await ns.endpoints('emqx')).toEqual(bluePods);
    await greenReady(a);
    expect(await ns.endpoints('emqx')).toEqual(bluePods);
    const revision = (await ns.statefulSet('emqx'))!.status!.currentRevision!;
    expect((await ns.core.readNamespacedService({ name: 'emqx', namespace: ns.name })).spec!.selector).toEqual({ app: 'emqx', 'controller-revision-hash': revision });
    ns.requests.length = 0;
    // read back from the Service as the API server stored it
    expect(await exec(a.setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } })).toEqual({ changed: true, served: { [GREEN.name]: 100 } });
    expect(ns.writes()).toEqual([
      expect.objectContaining({
        method: 'PATCH',
        path: `/api/v1/namespaces/${ns.name}/services/emqx`,
        contentType: 'application/merge-patch+json',
        body: { spec: { selector: { app: 'emqx', 'cutover.io/release': GREEN.name, 'controller-revision-hash': null } } },
      }),
    ]);
    expect(await ns.endpoints('emqx')).toEqual(greenPods);
    expect(await exec(a.setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } })).toEqual({ changed: false, served: { [GREEN.name]: 100 } });
    expect(ns.writes()).toHaveLength(1);

    // rollback of the first upgrade: blue's pods carry no release label, their controller's revision tells them apart
    expect(await exec(a.setWeights, { target: TARGET, weights: { emqx: 100, [GREEN.name]: 0 } })).toEqual({ changed: true, served: { emqx: 100 } });
    expect(ns.writes()[1]!.body).toEqual({ spec: { selector: { app: 'emqx', 'cutover.io/release': null, 'controller-revision-hash': revision } } });
    expect(await ns.endpoints('emqx')).toEqual(bluePods);
    expect(await exec(a.setWeights, { target: TARGET, weights: { emqx: 100 } })).toEqual({ changed: false, served: { emqx: 100 } });
    expect(ns.writes()).toHaveLength(2);
    // and blue is still the one serving, for a later upgrade
    expect(await exec(a.readBlueRelease, { target: TARGET })).toMatchObject({ name: 'emqx', pods: bluePods });
  });

  test('a Deployment first blue is told apart by its pod-template-hash', async () => {
    await ns.seedBlue({ kind: 'Deployment' });
    const a = activities({ workload: { kind: 'Deployment', name: 'emqx' } });
    await exec(a.waitWorkloadReady, { target: TARGET, release: 'emqx' });
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' });
    await exec(a.waitWorkloadReady, { target: TARGET, release: GREEN.name });
    await exec(a.setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } });
    await exec(a.setWeights, { target: TARGET, weights: { emqx: 100 } });
    const selector = (await ns.core.readNamespacedService({ name: 'emqx', namespace: ns.name })).spec!.selector!;
    expect(Object.keys(selector).sort()).toEqual(['app', 'pod-template-hash']);
    const endpoints = await ns.endpoints('emqx');
    expect(endpoints).toHaveLength(3);
    expect(endpoints.every((p) => p.startsWith('emqx-') && !p.startsWith(GREEN.name))).toBe(true);
  });

  test('to a release that does not exist: NotFound; a split: Invalid, naming the way out; the Service untouched', async () => {
    await ns.seedBlue();
    expect((await failure(exec(activities().setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } }))).type).toBe('NotFound');
    const split = await failure(exec(activities().setWeights, { target: TARGET, weights: { emqx: 90, [GREEN.name]: 10 } }));
    expect(split.type).toBe('Invalid');
    expect(split.message).toContain('httpRoute');
    expect(writes()).toEqual([]);
  });
});

describe('setWeights with an HTTPRoute', () => {
  async function route(): Promise<{ name: string; port: number; weight?: number }[]> {
    const r = (await ns.custom.getNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: ns.name, plural: 'httproutes', name: 'emqx' })) as {
      spec: { rules: { backendRefs: { name: string; port: number; weight?: number }[] }[] };
    };
    return r.spec.rules[0]!.backendRefs.map(({ name, port, weight }) => ({ name, port, weight }));
  }

  test('one Service per release, created with green; weights on the backendRefs, step by step; then the old release and its Service go', async () => {
    await ns.seedBlue();
    await ns.createRoute('emqx', 'emqx');
    const a = activities({ httpRoute: 'emqx' });
    await greenReady(a);
    // each release's Service selects its own pods only (the first blue by its controller's revision)
    expect(await ns.endpoints('cutover-emqx')).toEqual(bluePods);
    expect(await ns.endpoints(`cutover-${GREEN.name}`)).toEqual(greenPods);
    expect(await route()).toEqual([{ name: 'emqx', port: 1883, weight: 1 }]); // the CRD's default weight

    // read back from the route as stored; no Gateway controller runs here to say more
    const tenOnGreen = { served: { emqx: 90, [GREEN.name]: 10 }, readiness: 'no Gateway controller has written a status for it' };
    expect(await exec(a.setWeights, { target: TARGET, weights: { emqx: 90, [GREEN.name]: 10 } })).toEqual({ changed: true, ...tenOnGreen });
    expect(await route()).toEqual([
      { name: 'cutover-emqx', port: 1883, weight: 90 },
      { name: `cutover-${GREEN.name}`, port: 1883, weight: 10 },
    ]);
    expect(await exec(a.setWeights, { target: TARGET, weights: { emqx: 90, [GREEN.name]: 10 } })).toEqual({ changed: false, ...tenOnGreen });
    expect(await exec(a.readBlueRelease, { target: TARGET })).toMatchObject({ name: 'emqx' });

    expect(await exec(a.setWeights, { target: TARGET, weights: { emqx: 0, [GREEN.name]: 100 } })).toMatchObject({ changed: true, served: { [GREEN.name]: 100 } });
    expect(await route()).toEqual([{ name: `cutover-${GREEN.name}`, port: 1883, weight: 100 }]);
    expect(await exec(a.readBlueRelease, { target: TARGET })).toMatchObject({ name: GREEN.name });
    // the Service clients used before still selects blue alone (pinned before green existed)
    expect(Object.keys((await ns.core.readNamespacedService({ name: 'emqx', namespace: ns.name })).spec!.selector!).sort()).toEqual(['app', 'controller-revision-hash']);

    await exec(a.deleteWorkload, { target: TARGET, release: 'emqx' });
    expect((await ns.core.listNamespacedService({ namespace: ns.name })).items.map((s) => s.metadata!.name).sort()).toEqual(
      ['emqx', 'emqx-headless', `cutover-${GREEN.name}`].sort(),
    );
  });
});

describe('setWeights with an Istio VirtualService', () => {
  const VS = { type: 'virtualService', name: 'emqx' } as const;
  /** Each route's destinations as host:port=weight. */
  async function routes(): Promise<Record<string, string[]>> {
    const { spec } = await ns.virtualService('emqx');
    return Object.fromEntries(
      [...(spec.http ?? []), ...(spec.tcp ?? []).map((r) => ({ ...r, name: 'tcp' }))].map((r) => [r.name, r.route.map((d) => `${d.destination.host}:${d.destination.port?.number}=${d.weight}`)]),
    );
  }

  test("its routes' destinations become one Service per release, step by step, each keeping its port; a route not named stays; then the old release and its Service go", async () => {
    await ns.seedBlue();
    await ns.createVirtualService('emqx', {
      http: [
        { name: 'mqtt-ws', match: [{ uri: { prefix: '/mqtt' } }], timeout: '30s', route: [{ destination: { host: 'emqx', port: { number: 8083 } } }] },
        { name: 'dashboard', route: [{ destination: { host: 'emqx-dashboard', port: { number: 18083 } } }] },
      ],
      tcp: [{ match: [{ port: 1883 }], route: [{ destination: { host: 'emqx.' + ns.name + '.svc.cluster.local', port: { number: 1883 } } }] }],
    });
    const a = activities({ router: { ...VS, routes: ['mqtt-ws'] } });
    await greenReady(a);
    expect(await ns.endpoints('cutover-emqx')).toEqual(bluePods);
    expect(await ns.endpoints(`cutover-${GREEN.name}`)).toEqual(greenPods);

    // read back from the VirtualService as stored; no istiod runs here to say more
    const tenOnGreen = { served: { emqx: 90, [GREEN.name]: 10 }, readiness: 'istiod has written no status for it (its status reporting is off, or it has not seen it)' };
    expect(await exec(a.setWeights, { target: TARGET, weights: { emqx: 90, [GREEN.name]: 10 } })).toEqual({ changed: true, ...tenOnGreen });
    const green = `cutover-${GREEN.name}`;
    expect(await routes()).toEqual({
      'mqtt-ws': ['cutover-emqx:8083=90', `${green}:8083=10`],
      dashboard: ['emqx-dashboard:18083=undefined'],
      tcp: ['cutover-emqx:1883=90', `${green}:1883=10`],
    });
    // the rest of a weighted route as the user wrote it
    expect((await ns.virtualService('emqx')).spec.http![0]).toMatchObject({ match: [{ uri: { prefix: '/mqtt' } }], timeout: '30s' });
    expect(await exec(a.setWeights, { target: TARGET, weights: { emqx: 90, [GREEN.name]: 10 } })).toEqual({ changed: false, ...tenOnGreen });
    expect(await exec(a.readBlueRelease, { target: TARGET })).toMatchObject({ name: 'emqx' });

    expect(await exec(a.setWeights, { target: TARGET, weights: { emqx: 0, [GREEN.name]: 100 } })).toMatchObject({ changed: true, served: { [GREEN.name]: 100 } });
    expect(await routes()).toEqual({ 'mqtt-ws': [`${green}:8083=100`], dashboard: ['emqx-dashboard:18083=undefined'], tcp: [`${green}:1883=100`] });
    expect(await exec(a.readBlueRelease, { target: TARGET })).toMatchObject({ name: GREEN.name });
    expect((await exec(a.listReleases, { target: TARGET })).find((r) => r.name === GREEN.name)).toMatchObject({ weight: 100, objects: [`StatefulSet ${GREEN.name}`, `Service ${green}`] });

    await exec(a.deleteWorkload, { target: TARGET, release: 'emqx' });
    expect((await ns.core.listNamespacedService({ namespace: ns.name })).items.map((s) => s.metadata!.name).sort()).toEqual(['emqx', 'emqx-headless', green].sort());
  });

  test('a route the target names that the VirtualService lacks: Misconfigured, naming its routes, and nothing written', async () => {
    await ns.seedBlue();
    await ns.createVirtualService('emqx', { http: [{ name: 'mqtt-ws', route: [{ destination: { host: 'emqx' } }] }] });
    const a = activities({ router: { ...VS, routes: ['mqtt'] } });
    ns.requests.length = 0;
    const err = await failure(exec(a.setWeights, { target: TARGET, weights: { emqx: 100 } }));
    expect(err.type).toBe('Misconfigured');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe(`VirtualService emqx in namespace ${ns.name} of target '${TARGET}' has no http route named mqtt (its routes: mqtt-ws)`);
    expect(writes()).toEqual([]);
  });
});

describe("the router's readiness", () => {
  test("an HTTPRoute: what its Gateway's controller wrote in its status, and whether it has seen the route's generation", async () => {
    await ns.seedBlue();
    await ns.createRoute('emqx', 'emqx');
    const a = activities({ router: { type: 'httpRoute', name: 'emqx' } });
    await greenReady(a);
    const weights = { emqx: 90, [GREEN.name]: 10 };
    await exec(a.setWeights, { target: TARGET, weights });
    const route = { group: 'gateway.networking.k8s.io', version: 'v1', namespace: ns.name, plural: 'httproutes', name: 'emqx' };
    const { metadata } = (await ns.custom.getNamespacedCustomObject(route)) as { metadata: { generation: number } };
    // as a Gateway controller writes it (the CRD's status schema: parentRef, controllerName, conditions)
    const condition = (type: string, status: string, reason: string) => ({ type, status, reason, message: '', lastTransitionTime: new Date().toISOString(), observedGeneration: metadata.generation });
    await ns.custom.patchNamespacedCustomObjectStatus(
      {
        ...route,
        body: {
          status: {
            parents: [{ parentRef: { name: 'gateway' }, controllerName: 'example.net/gateway', conditions: [condition('Accepted', 'True', 'Accepted'), condition('ResolvedRefs', 'False', 'BackendNotFound')] }],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const said = 'Gateway gateway (example.net/gateway): Accepted True, ResolvedRefs False (BackendNotFound)';
    expect(await exec(a.setWeights, { target: TARGET, weights })).toEqual({ changed: false, served: { emqx: 90, [GREEN.name]: 10 }, readiness: said });
    // the next step changes the route: what the controller said is of the generation before
    expect((await exec(a.setWeights, { target: TARGET, weights: { emqx: 50, [GREEN.name]: 50 } })).readiness).toBe(
      `${said} (of generation ${metadata.generation}; ${metadata.generation + 1} not seen yet)`,
    );
  });

  test("a VirtualService: what istiod wrote in its status (its Reconciled condition, its analysers' messages), and for which generation", async () => {
    await ns.seedBlue();
    await ns.createVirtualService('emqx', { tcp: [{ route: [{ destination: { host: 'emqx', port: { number: 1883 } } }] }] });
    const a = activities({ router: { type: 'virtualService', name: 'emqx' } });
    await greenReady(a);
    const weights = { emqx: 90, [GREEN.name]: 10 };
    await exec(a.setWeights, { target: TARGET, weights });
    const { metadata } = await ns.virtualService('emqx');
    // as istiod writes it (pilot/pkg/status/distribution: Reconciled, "n/m proxies up to date."; the analysers' validationMessages)
    await ns.custom.patchNamespacedCustomObjectStatus(
      {
        ...VIRTUAL_SERVICES,
        namespace: ns.name,
        name: 'emqx',
        body: {
          status: {
            observedGeneration: String(metadata.generation),
            conditions: [{ type: 'Reconciled', status: 'False', message: '2/3 proxies up to date.', lastProbeTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
            validationMessages: [{ level: 'ERROR', type: { code: 'IST0101' }, documentationUrl: 'https://istio.io/latest/docs/reference/config/analysis/ist0101/' }],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const said = 'istiod: Reconciled False (2/3 proxies up to date.); IST0101 (ERROR)';
    expect(await exec(a.setWeights, { target: TARGET, weights })).toEqual({ changed: false, served: { emqx: 90, [GREEN.name]: 10 }, readiness: said });
    expect((await exec(a.setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } })).readiness).toBe(
      `${said} (of generation ${metadata.generation}; ${metadata.generation + 1} not seen yet)`,
    );
  });
});

describe('scaling (the real StatefulSet controller)', () => {
  test('scaleWorkload sets replicas through the scale subresource; the same call again sends nothing', async () => {
    await ns.seedBlue();
    const a = activities();
    expect(await exec(a.scaleWorkload, { target: TARGET, release: 'emqx', replicas: 0 })).toEqual({ changed: true });
    expect(writes()).toEqual(['PUT /apis/apps/v1/namespaces/NS/statefulsets/emqx/scale application/json']);
    await ns.until(async () => (await ns.pods('app=emqx')).length === 0);
    expect(await exec(a.scaleWorkload, { target: TARGET, release: 'emqx', replicas: 0 })).toEqual({ changed: false });
    expect(writes()).toHaveLength(1);
  });

  test('scaleDownByOne retried after its first try succeeded removes one pod, not two: the highest ordinal', async () => {
    await ns.seedBlue();
    const a = activities();
    const input = { target: TARGET, release: 'emqx', expectedReplicas: 3 };
    expect(await exec(a.scaleDownByOne, input)).toEqual({ replicas: 2, changed: true });
    expect(await exec(a.scaleDownByOne, input)).toEqual({ replicas: 2, changed: false });
    await ns.until(async () => (await ns.pods('app=emqx')).length === 2);
    expect((await ns.pods('app=emqx')).map((p) => p.metadata!.name)).toEqual(['emqx-0', 'emqx-1']);
    const put = ns.writes();
    expect(put).toHaveLength(1);
    // the write is conditional on the version it read
    expect(put[0]).toMatchObject({ method: 'PUT', body: { spec: { replicas: 2 }, metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } } });
  });

  test('scaleDownByOne loses a race with another writer: 409 Conflict, retryable, and the retry sees the truth', async () => {
    await ns.seedBlue();
    const a = activities();
    // another writer scales the StatefulSet between our read and our write
    ns.beforeForwarding(async (r) => {
      if (r.method !== 'PUT') return;
      ns.beforeForwarding(() => undefined);
      await ns.apps.patchNamespacedStatefulSetScale(
        { name: 'emqx', namespace: ns.name, body: { spec: { replicas: 2 } } },
        (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
      );
    });
    const err = await failure(exec(a.scaleDownByOne, { target: TARGET, release: 'emqx', expectedReplicas: 3 }));
    expect(err.type).toBe('Conflict');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toContain('the object has been modified');
    expect(await exec(a.scaleDownByOne, { target: TARGET, release: 'emqx', expectedReplicas: 3 })).toEqual({ replicas: 2, changed: false });
    expect((await ns.statefulSet('emqx'))!.spec!.replicas).toBe(2);
  });

  test('scaleDownByOne refuses a workload someone scaled up', async () => {
    await ns.seedBlue({ replicas: 4 });
    const err = await failure(exec(activities().scaleDownByOne, { target: TARGET, release: 'emqx', expectedReplicas: 3 }));
    expect(err.type).toBe('Invalid');
    expect(ns.writes()).toEqual([]);
  });

  test('a Deployment scales through its own scale subresource (its controller\'s status writes may win the race: retried, as Temporal does)', async () => {
    await ns.seedBlue({ kind: 'Deployment' });
    const a = activities({ workload: { kind: 'Deployment', name: 'emqx' } });
    const input = { target: TARGET, release: 'emqx', expectedReplicas: 3 };
    const result = await exec(a.scaleDownByOne, input).catch(async (err: { type?: string }) => {
      if (err.type !== 'Conflict') throw err;
      return exec(a.scaleDownByOne, input);
    });
    expect(result).toEqual({ replicas: 2, changed: true });
    expect(new Set(writes())).toEqual(new Set(['PUT /apis/apps/v1/namespaces/NS/deployments/emqx/scale application/json']));
    await ns.until(async () => (await exec(a.listReleasePods, { target: TARGET, release: 'emqx' })).length === 2);
    const pods = await exec(a.listReleasePods, { target: TARGET, release: 'emqx' });
    expect(pods[0]!.name).toMatch(/^emqx-[0-9a-f]{8,10}-[0-9a-z]{5}$/);
  });
});

describe('deleteWorkload', () => {
  test('pvcPolicy retain (default): the workload goes, its claims stay; a second call is a no-op', async () => {
    await ns.seedBlue();
    const a = activities();
    await greenReady(a);
    expect(await exec(a.deleteWorkload, { target: TARGET, release: GREEN.name })).toEqual({ deleted: true, claimsDeleted: [] });
    expect(await ns.statefulSet(GREEN.name)).toBeUndefined();
    await ns.until(async () => (await ns.pods()).length === 3);
    expect((await ns.pods()).map((p) => p.metadata!.name)).toEqual(bluePods);
    expect(await ns.claims()).toHaveLength(6);
    ns.requests.length = 0;
    expect(await exec(a.deleteWorkload, { target: TARGET, release: GREEN.name })).toEqual({ deleted: false, claimsDeleted: [] });
    expect(ns.writes()).toEqual([]);
  });

  test('pvcPolicy delete: its claims go first, including those of pods scaled away; the other release keeps its own', async () => {
    await ns.seedBlue();
    const a = activities({ pvcPolicy: 'delete' });
    await greenReady(a);
    await exec(a.scaleWorkload, { target: TARGET, release: 'emqx', replicas: 1 });
    expect((await ns.claims()).filter((c) => c.startsWith('data-emqx-'))).toHaveLength(3);
    ns.requests.length = 0;
    expect(await exec(a.deleteWorkload, { target: TARGET, release: 'emqx' })).toEqual({ deleted: true, claimsDeleted: ['data-emqx-0', 'data-emqx-1', 'data-emqx-2'] });
    expect(writes()).toEqual([
      'DELETE /api/v1/namespaces/NS/persistentvolumeclaims/data-emqx-0 application/json',
      'DELETE /api/v1/namespaces/NS/persistentvolumeclaims/data-emqx-1 application/json',
      'DELETE /api/v1/namespaces/NS/persistentvolumeclaims/data-emqx-2 application/json',
      'DELETE /apis/apps/v1/namespaces/NS/statefulsets/emqx application/json',
    ]);
    await ns.until(async () => (await ns.claims()).length === 3);
    expect(await ns.claims()).toEqual(greenPods.map((p) => `data-${p}`));
    await ns.until(async () => (await ns.pods()).length === 3);
    expect((await ns.pods()).map((p) => p.metadata!.name)).toEqual(greenPods);
  });
});
