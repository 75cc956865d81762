/** The Kubernetes activities through the real @kubernetes/client-node against the test API server, in Temporal's mock activity context. */
import { CancelledFailure } from '@temporalio/common';
import { createKubernetesActivities, type KubernetesActivities } from '../../src/activities/platforms/kubernetes';
import { targetLookup, type KubernetesPlacement } from '../../src/config/targets';
import { releaseName } from '../../src/domain/upgrade';
import { KubeApiServer, seedBlue } from '../support/kubeApiServer';
import { exec, failure, run } from '../support/activityHarness';

const TARGET = 'mqtt-prod';
const NS = 'mqtt';
const GREEN = { name: releaseName(TARGET, '5.8.1'), version: '5.8.1' };

let k8s: KubeApiServer;
beforeEach(async () => {
  k8s = await KubeApiServer.start({ readyAfterMs: 10 });
});
afterEach(() => k8s.close());

function activities(placement: Partial<KubernetesPlacement> = {}, token?: string): KubernetesActivities {
  return createKubernetesActivities({
    targets: targetLookup([
      {
        name: TARGET,
        kind: 'emqx',
        kubernetes: { namespace: NS, workload: { kind: 'StatefulSet', name: 'emqx' }, service: 'emqx', ...placement },
      },
    ]),
    kubeConfigFor: () => k8s.kubeConfig(token),
  });
}


const writes = () => k8s.writes().map((r) => `${r.method} ${r.path} ${r.contentType ?? ''}`.trim());

/** Blue seeded and ready, green created and ready: the state before promote. */
async function greenReady(a: KubernetesActivities): Promise<void> {
  await exec(a.waitWorkloadReady, { target: TARGET, release: 'emqx', pollMs: 5 });
  await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' });
  await exec(a.waitWorkloadReady, { target: TARGET, release: GREEN.name, pollMs: 5 });
}

describe('readBlueRelease', () => {
  test('before any upgrade: the configured workload, its image tag as version, replicas and pods', async () => {
    seedBlue(k8s);
    const blue = await exec(activities().readBlueRelease, { target: TARGET });
    expect(blue).toEqual({
      name: 'emqx',
      version: '5.8.0',
      image: 'emqx/emqx:5.8.0',
      replicas: 3,
      workload: { kind: 'StatefulSet', name: 'emqx' },
      pods: ['emqx-0', 'emqx-1', 'emqx-2'],
    });
  });

  test('after a switch: the release the Service selects, with its version annotation', async () => {
    seedBlue(k8s);
    const a = activities();
    await greenReady(a);
    await exec(a.setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } });
    const blue = await exec(a.readBlueRelease, { target: TARGET });
    expect(blue).toMatchObject({ name: GREEN.name, version: '5.8.1', image: 'emqx/emqx:5.8.1', workload: { name: GREEN.name } });
    expect(blue.pods).toEqual([0, 1, 2].map((i) => `${GREEN.name}-${i}`));
  });

  test('a missing workload or Service is NotFound, naming it and the namespace', async () => {
    seedBlue(k8s);
    const err = await failure(exec(activities({ workload: { kind: 'StatefulSet', name: 'emqx-typo' } }).readBlueRelease, { target: TARGET }));
    expect(err.type).toBe('NotFound');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('StatefulSet emqx-typo');
    expect(err.message).toContain(`namespace ${NS}`);
    expect(err.message).toContain('statefulsets.apps "emqx-typo" not found');
    const svc = await failure(exec(activities({ service: 'nope' }).readBlueRelease, { target: TARGET }));
    expect(svc.type).toBe('NotFound');
    expect(svc.message).toContain('Service nope');
  });

  test('a refused token (401) and missing rights (403) are Unauthorized and not retried', async () => {
    seedBlue(k8s);
    const unauthorized = await failure(exec(activities({}, 'wrong-token').readBlueRelease, { target: TARGET }));
    expect(unauthorized.type).toBe('Unauthorized');
    expect(unauthorized.nonRetryable).toBe(true);
    k8s.forbid('services');
    const forbidden = await failure(exec(activities().readBlueRelease, { target: TARGET }));
    expect(forbidden.type).toBe('Unauthorized');
    expect(forbidden.message).toContain('cannot get resource "services"');
  });

  test('a target without a kubernetes section is Misconfigured', async () => {
    const a = createKubernetesActivities({ targets: targetLookup([{ name: TARGET, kind: 'emqx' }]), kubeConfigFor: () => k8s.kubeConfig() });
    const err = await failure(exec(a.readBlueRelease, { target: TARGET }));
    expect(err.type).toBe('Misconfigured');
    expect(k8s.requests).toHaveLength(0);
  });
});

describe('ensureGreenWorkload', () => {
  test('creates green beside blue: release label in selector and template, new image, same claim templates and headless Service', async () => {
    seedBlue(k8s);
    const a = activities();
    expect(await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' })).toEqual({ created: true, image: 'emqx/emqx:5.8.1' });
    const green = k8s.get('StatefulSet', NS, GREEN.name)!;
    expect(green.spec.selector.matchLabels).toEqual({ app: 'emqx', 'cutover.io/release': GREEN.name });
    expect(green.spec.template.metadata.labels).toEqual({ app: 'emqx', 'cutover.io/release': GREEN.name });
    expect(green.spec.template.spec.containers[0].image).toBe('emqx/emqx:5.8.1');
    expect(green.spec.serviceName).toBe('emqx-headless');
    expect(green.spec.volumeClaimTemplates.map((t: { metadata: { name: string } }) => t.metadata.name)).toEqual(['data']);
    expect(green.metadata.annotations).toEqual({ 'cutover.io/version': '5.8.1', 'cutover.io/copied-from': 'emqx' });
    expect(writes()).toEqual([`POST /apis/apps/v1/namespaces/${NS}/statefulsets application/json`]);
    // blue untouched, and its pods are not green's
    expect(k8s.get('StatefulSet', NS, 'emqx')!.metadata.generation).toBe(1);
    expect((await exec(a.listReleasePods, { target: TARGET, release: 'emqx' })).map((p) => p.name)).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
  });

  test('idempotent: a second call reads and sends nothing', async () => {
    seedBlue(k8s);
    const a = activities();
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' });
    k8s.requests.length = 0;
    expect(await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' })).toEqual({ created: false, image: 'emqx/emqx:5.8.1' });
    expect(writes()).toEqual([]);
  });

  test('no image given: blue repository tagged with the green version; replicas as asked', async () => {
    seedBlue(k8s, { image: 'registry.local:5000/emqx/emqx:5.8.0' });
    await exec(activities().ensureGreenWorkload, { target: TARGET, green: GREEN, replicas: 2 });
    const green = k8s.get('StatefulSet', NS, GREEN.name)!;
    expect(green.spec.template.spec.containers[0].image).toBe('registry.local:5000/emqx/emqx:5.8.1');
    expect(green.spec.replicas).toBe(2);
  });

  test('a bad image is replaced by a merge patch of the pod template, and the fixed pods become ready (#1214)', async () => {
    seedBlue(k8s);
    k8s.readiness({ image: 'emqx/emqx:5.8.1-typo', never: 'ImagePullBackOff' });
    const a = activities();
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1-typo' });
    k8s.requests.length = 0;
    expect(await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' })).toEqual({ created: false, image: 'emqx/emqx:5.8.1' });
    const patch = k8s.writes();
    expect(patch).toEqual([
      {
        method: 'PATCH',
        path: `/apis/apps/v1/namespaces/${NS}/statefulsets/${GREEN.name}`,
        query: {},
        contentType: 'application/merge-patch+json',
        body: { spec: { template: { spec: { containers: [expect.objectContaining({ name: 'emqx', image: 'emqx/emqx:5.8.1' })] } } } },
      },
    ]);
    await exec(a.waitWorkloadReady, { target: TARGET, release: GREEN.name, pollMs: 5 });
  });

  test('the release serving now is never patched as green', async () => {
    seedBlue(k8s);
    const err = await failure(exec(activities().ensureGreenWorkload, { target: TARGET, green: { name: 'emqx', version: '5.9.0' }, image: 'emqx/emqx:5.9.0' }));
    expect(err.type).toBe('Invalid');
    expect(writes()).toEqual([]);
  });
});

describe('waitWorkloadReady', () => {
  test('heartbeats ready/desired and the pods still waiting, and ends once the controller has made every pod ready', async () => {
    seedBlue(k8s);
    k8s.readiness({ workload: GREEN.name, afterMs: 150 });
    const a = activities();
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1' });
    const { result, heartbeats } = run(a.waitWorkloadReady, { target: TARGET, release: GREEN.name, pollMs: 10 });
    expect(await result).toEqual({ release: GREEN.name, ready: 3, desired: 3, waiting: [] });
    expect(heartbeats[0]).toEqual({
      release: GREEN.name,
      ready: 0,
      desired: 3,
      waiting: [0, 1, 2].map((i) => ({ pod: `${GREEN.name}-${i}`, reason: 'ContainerCreating' })),
    });
    expect(heartbeats.length).toBeGreaterThan(3);
  });

  test('a bad image: the waiting reason is reported, and cancellation (rollback) ends the wait at once', async () => {
    seedBlue(k8s);
    k8s.readiness({ image: 'emqx/emqx:5.8.1-typo', never: 'ImagePullBackOff' });
    const a = activities();
    await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1-typo' });
    const { result, heartbeats, env } = run(a.waitWorkloadReady, { target: TARGET, release: GREEN.name, pollMs: 10 });
    while (heartbeats.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(heartbeats[1]).toMatchObject({ ready: 0, desired: 3, waiting: expect.arrayContaining([{ pod: `${GREEN.name}-0`, reason: 'ImagePullBackOff' }]) });
    const started = Date.now();
    env.cancel();
    await expect(result).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(500);
  });

  test('a missing release is NotFound', async () => {
    seedBlue(k8s);
    expect((await failure(exec(activities().waitWorkloadReady, { target: TARGET, release: 'emqx-gone', pollMs: 5 }))).type).toBe('NotFound');
  });
});

describe('setWeights without an HTTPRoute (the Service selector)', () => {
  test('merge-patches the selector to green, then back to the first blue (whose pods have no release label); idempotent', async () => {
    seedBlue(k8s);
    const a = activities();
    await greenReady(a);
    expect(k8s.endpoints(NS, 'emqx')).toEqual(['emqx-0', 'emqx-1', 'emqx-2', `${GREEN.name}-0`, `${GREEN.name}-1`, `${GREEN.name}-2`].sort());
    k8s.requests.length = 0;
    expect(await exec(a.setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } })).toEqual({ changed: true });
    expect(k8s.writes()).toEqual([
      {
        method: 'PATCH',
        path: `/api/v1/namespaces/${NS}/services/emqx`,
        query: {},
        contentType: 'application/merge-patch+json',
        body: { spec: { selector: { app: 'emqx', 'cutover.io/release': GREEN.name } } },
      },
    ]);
    expect(k8s.endpoints(NS, 'emqx')).toEqual([0, 1, 2].map((i) => `${GREEN.name}-${i}`));
    expect(await exec(a.setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } })).toEqual({ changed: false });
    expect(k8s.writes()).toHaveLength(1);

    expect(await exec(a.setWeights, { target: TARGET, weights: { ['emqx']: 100 } })).toEqual({ changed: true });
    expect(k8s.writes()[1]!.body).toEqual({ spec: { selector: { app: 'emqx', 'cutover.io/release': null } } });
    expect(k8s.get('Service', NS, 'emqx')!.spec.selector).toEqual({ app: 'emqx' });
    expect(await exec(a.setWeights, { target: TARGET, weights: { ['emqx']: 100 } })).toEqual({ changed: false });
    expect(k8s.writes()).toHaveLength(2);
  });

  test('to a release that does not exist: NotFound, and the Service is untouched', async () => {
    seedBlue(k8s);
    const err = await failure(exec(activities().setWeights, { target: TARGET, weights: { [GREEN.name]: 100 } }));
    expect(err.type).toBe('NotFound');
    expect(k8s.writes()).toEqual([]);
  });
});

describe('scaling', () => {
  test('scaleWorkload sets replicas through the scale subresource; the same call again sends nothing', async () => {
    seedBlue(k8s);
    const a = activities();
    expect(await exec(a.scaleWorkload, { target: TARGET, release: 'emqx', replicas: 0 })).toEqual({ changed: true });
    expect(writes()).toEqual([`PUT /apis/apps/v1/namespaces/${NS}/statefulsets/emqx/scale application/json`]);
    expect(k8s.list('Pod', NS)).toEqual([]);
    expect(await exec(a.scaleWorkload, { target: TARGET, release: 'emqx', replicas: 0 })).toEqual({ changed: false });
    expect(writes()).toHaveLength(1);
  });

  test('scaleDownByOne retried after its first try succeeded removes one pod, not two', async () => {
    seedBlue(k8s);
    const a = activities();
    // the controller's own status writes change the resourceVersion too: let it settle first
    await exec(a.waitWorkloadReady, { target: TARGET, release: 'emqx', pollMs: 5 });
    const input = { target: TARGET, release: 'emqx', expectedReplicas: 3 };
    expect(await exec(a.scaleDownByOne, input)).toEqual({ replicas: 2, changed: true });
    expect(await exec(a.scaleDownByOne, input)).toEqual({ replicas: 2, changed: false });
    expect(k8s.get('StatefulSet', NS, 'emqx')!.spec.replicas).toBe(2);
    expect(k8s.list('Pod', NS).map((p) => p.metadata.name)).toEqual(['emqx-0', 'emqx-1']);
    const put = k8s.writes();
    expect(put).toHaveLength(1);
    expect(put[0]).toMatchObject({ method: 'PUT', path: `/apis/apps/v1/namespaces/${NS}/statefulsets/emqx/scale`, body: { spec: { replicas: 2 } } });
    // the write is conditional on the version it read
    expect((put[0]!.body as { metadata: { resourceVersion?: string } }).metadata.resourceVersion).toMatch(/^\d+$/);
  });

  test('scaleDownByOne loses a race with another writer: 409 Conflict, retryable, and the retry sees the truth', async () => {
    seedBlue(k8s);
    const a = activities();
    // the controller's own status writes change the resourceVersion too: let it settle first
    await exec(a.waitWorkloadReady, { target: TARGET, release: 'emqx', pollMs: 5 });
    // another writer scales the StatefulSet between our read and our write
    k8s.beforeHandling((r) => {
      if (r.method !== 'PUT') return;
      k8s.beforeHandling(() => undefined);
      k8s.update('StatefulSet', NS, 'emqx', (o) => (o.spec.replicas = 2));
    });
    const err = await failure(exec(a.scaleDownByOne, { target: TARGET, release: 'emqx', expectedReplicas: 3 }));
    expect(err.type).toBe('Conflict');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toContain('the object has been modified');
    expect(await exec(a.scaleDownByOne, { target: TARGET, release: 'emqx', expectedReplicas: 3 })).toEqual({ replicas: 2, changed: false });
    expect(k8s.get('StatefulSet', NS, 'emqx')!.spec.replicas).toBe(2);
  });

  test('scaleDownByOne refuses a workload someone scaled up', async () => {
    seedBlue(k8s, { replicas: 4 });
    const err = await failure(exec(activities().scaleDownByOne, { target: TARGET, release: 'emqx', expectedReplicas: 3 }));
    expect(err.type).toBe('Invalid');
    expect(k8s.writes()).toEqual([]);
  });

  test('a Deployment scales through its own scale subresource', async () => {
    seedBlue(k8s, { kind: 'Deployment' });
    const a = activities({ workload: { kind: 'Deployment', name: 'emqx' } });
    await exec(a.waitWorkloadReady, { target: TARGET, release: 'emqx', pollMs: 5 });
    expect(await exec(a.scaleDownByOne, { target: TARGET, release: 'emqx', expectedReplicas: 3 })).toEqual({ replicas: 2, changed: true });
    expect(writes()).toEqual([`PUT /apis/apps/v1/namespaces/${NS}/deployments/emqx/scale application/json`]);
    const pods = await exec(a.listReleasePods, { target: TARGET, release: 'emqx' });
    expect(pods).toHaveLength(2);
    expect(pods[0]!.name).toMatch(/^emqx-[0-9a-f]{10}-[0-9a-f]{5}$/);
  });
});

describe('deleteWorkload', () => {
  test('pvcPolicy retain (default): the workload goes, its claims stay; a second call is a no-op', async () => {
    seedBlue(k8s);
    const a = activities();
    await greenReady(a);
    expect(await exec(a.deleteWorkload, { target: TARGET, release: GREEN.name })).toEqual({ deleted: true, claimsDeleted: [] });
    expect(k8s.get('StatefulSet', NS, GREEN.name)).toBeUndefined();
    expect(k8s.list('Pod', NS).map((p) => p.metadata.name)).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
    expect(k8s.list('PersistentVolumeClaim', NS)).toHaveLength(6);
    k8s.requests.length = 0;
    expect(await exec(a.deleteWorkload, { target: TARGET, release: GREEN.name })).toEqual({ deleted: false, claimsDeleted: [] });
    expect(k8s.writes()).toEqual([]);
  });

  test('pvcPolicy delete: its claims go first, including those of pods scaled away; the other release keeps its own', async () => {
    seedBlue(k8s);
    const a = activities({ pvcPolicy: 'delete' });
    await greenReady(a);
    await exec(a.scaleWorkload, { target: TARGET, release: 'emqx', replicas: 1 });
    expect(k8s.list('PersistentVolumeClaim', NS).filter((c) => c.metadata.name.startsWith('data-emqx-')).length).toBe(3);
    k8s.requests.length = 0;
    expect(await exec(a.deleteWorkload, { target: TARGET, release: 'emqx' })).toEqual({ deleted: true, claimsDeleted: ['data-emqx-0', 'data-emqx-1', 'data-emqx-2'] });
    expect(writes()).toEqual([
      `DELETE /api/v1/namespaces/${NS}/persistentvolumeclaims/data-emqx-0 application/json`,
      `DELETE /api/v1/namespaces/${NS}/persistentvolumeclaims/data-emqx-1 application/json`,
      `DELETE /api/v1/namespaces/${NS}/persistentvolumeclaims/data-emqx-2 application/json`,
      `DELETE /apis/apps/v1/namespaces/${NS}/statefulsets/emqx application/json`,
    ]);
    expect(k8s.list('PersistentVolumeClaim', NS).map((c) => c.metadata.name)).toEqual([0, 1, 2].map((i) => `data-${GREEN.name}-${i}`));
    expect(k8s.list('Pod', NS).map((p) => p.metadata.name)).toEqual([0, 1, 2].map((i) => `${GREEN.name}-${i}`));
  });
});
