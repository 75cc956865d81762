/** The test Kubernetes API server speaks the protocol the real client library expects: raw HTTP where the client would hide it. */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { KubeApiServer, matchesSelector, seedBlue } from '../support/kubeApiServer';

let k8s: KubeApiServer;
beforeEach(async () => {
  k8s = await KubeApiServer.start({ readyAfterMs: 5 });
  seedBlue(k8s);
});
afterEach(() => k8s.close());

const sts = '/apis/apps/v1/namespaces/mqtt/statefulsets/emqx';
async function http(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${k8s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${k8s.token}`, 'content-type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('a patch with any other content type is 415 UnsupportedMediaType, as a Status', async () => {
  const r = await http('PATCH', sts, { spec: { replicas: 1 } }, 'application/json');
  expect(r.status).toBe(415);
  expect(r.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'UnsupportedMediaType', code: 415 });
  expect(k8s.get('StatefulSet', 'mqtt', 'emqx')!.spec.replicas).toBe(3);
});

test('merge, strategic merge and JSON patches; generation moves with the spec only', async () => {
  expect((await http('PATCH', sts, { spec: { replicas: 2 } }, 'application/merge-patch+json')).body).toMatchObject({ metadata: { generation: 2 } });
  await http('PATCH', sts, { metadata: { labels: { tier: 'mqtt' } } }, 'application/strategic-merge-patch+json');
  const r = await http('PATCH', sts, [{ op: 'test', path: '/spec/replicas', value: 2 }, { op: 'replace', path: '/spec/replicas', value: 1 }], 'application/json-patch+json');
  expect(r.body).toMatchObject({ metadata: { generation: 3, labels: { app: 'emqx', tier: 'mqtt' } }, spec: { replicas: 1 } });
  const failed = await http('PATCH', sts, [{ op: 'test', path: '/spec/replicas', value: 5 }], 'application/json-patch+json');
  expect(failed.status).toBe(422);
});

test('create twice is 409 AlreadyExists; a replace with a stale resourceVersion is 409 Conflict; without one, 422', async () => {
  const apps = k8s.kubeConfig().makeApiClient(AppsV1Api);
  const current = await apps.readNamespacedStatefulSet({ name: 'emqx', namespace: 'mqtt' });
  const again = await http('POST', '/apis/apps/v1/namespaces/mqtt/statefulsets', { metadata: { name: 'emqx' }, spec: current.spec });
  expect(again).toMatchObject({ status: 409, body: { reason: 'AlreadyExists', details: { name: 'emqx', kind: 'statefulsets' } } });

  current.spec!.replicas = 5;
  const replaced = await apps.replaceNamespacedStatefulSet({ name: 'emqx', namespace: 'mqtt', body: current });
  expect(replaced.spec!.replicas).toBe(5);
  await expect(apps.replaceNamespacedStatefulSet({ name: 'emqx', namespace: 'mqtt', body: current })).rejects.toMatchObject({ code: 409 });
  const unconditional = await http('PUT', sts, { metadata: { name: 'emqx' }, spec: current.spec });
  expect(unconditional).toMatchObject({ status: 422, body: { reason: 'Invalid' } });
});

test('a StatefulSet selector is immutable, and must match the template labels on create', async () => {
  const r = await http('PATCH', sts, { spec: { selector: { matchLabels: { app: 'other' } } } }, 'application/merge-patch+json');
  expect(r).toMatchObject({ status: 422, body: { reason: 'Invalid' } });
  const bad = await http('POST', '/apis/apps/v1/namespaces/mqtt/statefulsets', {
    metadata: { name: 'x' },
    spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'y' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
  });
  expect(bad.status).toBe(422);
});

test('the controller: pods and claims named as the real controllers name them, Ready after the delay, status written', async () => {
  const core = k8s.kubeConfig().makeApiClient(CoreV1Api);
  const pods = await core.listNamespacedPod({ namespace: 'mqtt', labelSelector: 'app=emqx' });
  expect(pods.items.map((p) => p.metadata!.name)).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
  expect(pods.items[0]!.metadata!.ownerReferences![0]).toMatchObject({ kind: 'StatefulSet', name: 'emqx' });
  expect(k8s.list('PersistentVolumeClaim', 'mqtt').map((c) => c.metadata.name)).toEqual(['data-emqx-0', 'data-emqx-1', 'data-emqx-2']);
  await new Promise((r) => setTimeout(r, 30));
  expect(k8s.get('StatefulSet', 'mqtt', 'emqx')!.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
  expect(k8s.endpoints('mqtt', 'emqx')).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
});

test('the scale and status subresources', async () => {
  const apps = k8s.kubeConfig().makeApiClient(AppsV1Api);
  const scale = await apps.readNamespacedStatefulSetScale({ name: 'emqx', namespace: 'mqtt' });
  expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 3 }, status: { selector: 'app=emqx' } });
  await apps.patchNamespacedStatefulSetScale({ name: 'emqx', namespace: 'mqtt', body: { spec: { replicas: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  expect(k8s.list('Pod', 'mqtt').map((p) => p.metadata.name)).toEqual(['emqx-0']);
  expect(k8s.list('PersistentVolumeClaim', 'mqtt')).toHaveLength(3);
  const withStatus = await apps.patchNamespacedStatefulSetStatus(
    { name: 'emqx', namespace: 'mqtt', body: { status: { replicas: 1, availableReplicas: 0 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  expect(withStatus.status!.availableReplicas).toBe(0);
  expect(withStatus.spec!.replicas).toBe(1);
});

test('deleting a StatefulSet removes its pods, not its claims; a missing object is a 404 Status', async () => {
  expect((await http('DELETE', sts)).body).toMatchObject({ kind: 'Status', status: 'Success' });
  expect(k8s.list('Pod', 'mqtt')).toEqual([]);
  expect(k8s.list('PersistentVolumeClaim', 'mqtt')).toHaveLength(3);
  expect(await http('GET', sts)).toMatchObject({ status: 404, body: { kind: 'Status', reason: 'NotFound', message: 'statefulsets.apps "emqx" not found', code: 404 } });
});

test('label selectors: equality, inequality, existence, absence and sets', () => {
  const labels = { app: 'emqx', 'cutover.io/release': 'g' };
  expect(matchesSelector(labels, 'app=emqx,cutover.io/release==g')).toBe(true);
  expect(matchesSelector(labels, 'app=emqx,!cutover.io/release')).toBe(false);
  expect(matchesSelector({ app: 'emqx' }, 'app=emqx,!cutover.io/release')).toBe(true);
  expect(matchesSelector(labels, 'app!=emqx')).toBe(false);
  expect(matchesSelector(labels, 'cutover.io/release in (a,g),app notin (x)')).toBe(true);
  expect(matchesSelector(labels, 'tier')).toBe(false);
});
