/** The pure side of the Kubernetes activities: image tags, release selection, and green as a copy of blue. */
import type { V1StatefulSet } from '@kubernetes/client-node';
import { greenManifest, imageTag, releaseOf, releasePodSelector, releaseServiceName, serviceSelectorFor, withTag } from '../../src/domain/kubernetes';

const blue: V1StatefulSet = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'emqx', namespace: 'mqtt', labels: { app: 'emqx' }, resourceVersion: '42', uid: 'u1', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
  spec: {
    replicas: 3,
    serviceName: 'emqx-headless',
    selector: { matchLabels: { app: 'emqx' } },
    template: { metadata: { labels: { app: 'emqx' } }, spec: { containers: [{ name: 'emqx', image: 'emqx/emqx:5.8.0' }, { name: 'exporter', image: 'exporter:1', env: [{ name: 'CUTOVER_RELEASE', value: 'emqx' }, { name: 'LOG_LEVEL', value: 'info' }] }] } },
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }],
  },
  status: { replicas: 3, readyReplicas: 3 },
};

test.each([
  ['emqx/emqx:5.8.0', '5.8.0', 'emqx/emqx:5.9.0'],
  ['registry.local:5000/emqx/emqx:5.8.0', '5.8.0', 'registry.local:5000/emqx/emqx:5.9.0'],
  ['registry.local:5000/emqx/emqx', 'latest', 'registry.local:5000/emqx/emqx:5.9.0'],
  ['emqx/emqx:5.8.0@sha256:abc', '5.8.0', 'emqx/emqx:5.9.0'],
])('image %s: tag %s, retagged %s', (image, tag, retagged) => {
  expect(imageTag(image)).toBe(tag);
  expect(withTag(image, '5.9.0')).toBe(retagged);
});

test('green: new name, release label in selector and template, new image on the first container only, same claims; no status or server fields', () => {
  const green = greenManifest(blue, { name: 'mqtt-5-9-0', version: '5.9.0' }, 'emqx/emqx:5.9.0', 2);
  expect(green.metadata).toEqual({
    name: 'mqtt-5-9-0',
    namespace: 'mqtt',
    labels: { app: 'emqx', 'cutover.io/release': 'mqtt-5-9-0' },
    annotations: { 'cutover.io/version': '5.9.0', 'cutover.io/copied-from': 'emqx' },
  });
  expect(green.status).toBeUndefined();
  expect(green.spec!.replicas).toBe(2);
  expect(green.spec!.selector.matchLabels).toEqual({ app: 'emqx', 'cutover.io/release': 'mqtt-5-9-0' });
  expect(green.spec!.template.spec!.containers.map((c) => c.image)).toEqual(['emqx/emqx:5.9.0', 'exporter:1']);
  // every container knows its release (the name its phase endpoint asks for), blue's own value replaced
  expect(green.spec!.template.spec!.containers.map((c) => c.env)).toEqual([
    [{ name: 'CUTOVER_RELEASE', value: 'mqtt-5-9-0' }],
    [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'CUTOVER_RELEASE', value: 'mqtt-5-9-0' }],
  ]);
  expect(green.spec!.volumeClaimTemplates).toEqual(blue.spec!.volumeClaimTemplates);
  expect(blue.spec!.template.spec!.containers[0]!.image).toBe('emqx/emqx:5.8.0');
  expect(releaseOf(green)).toEqual({ name: 'mqtt-5-9-0', version: '5.9.0' });
});

test('the first blue is its own release; its pods are those without a release label', () => {
  expect(releaseOf(blue)).toEqual({ name: 'emqx', version: '5.8.0' });
  expect(releasePodSelector(blue.spec!.selector)).toBe('app=emqx,!cutover.io/release');
  expect(releasePodSelector({ matchLabels: { app: 'emqx', 'cutover.io/release': 'g' } })).toBe('app=emqx,cutover.io/release=g');
});

test("green: the environment a strategy gives replaces blue's value on the application container only", () => {
  const withSeeds = structuredClone(blue);
  withSeeds.spec!.template.spec!.containers[0]!.env = [{ name: 'EMQX_CLUSTER__STATIC__SEEDS', value: '["emqx@emqx-0"]' }, { name: 'KEEP', value: '1' }];
  const green = greenManifest(withSeeds, { name: 'mqtt-5-9-0', version: '5.9.0' }, 'emqx/emqx:5.9.0', 1, undefined, { EMQX_CLUSTER__STATIC__SEEDS: '["emqx@emqx-0","emqx@mqtt-5-9-0-0"]' });
  expect(green.spec!.template.spec!.containers[0]!.env).toEqual([
    { name: 'KEEP', value: '1' },
    { name: 'EMQX_CLUSTER__STATIC__SEEDS', value: '["emqx@emqx-0","emqx@mqtt-5-9-0-0"]' },
    { name: 'CUTOVER_RELEASE', value: 'mqtt-5-9-0' },
  ]);
  expect(green.spec!.template.spec!.containers[1]!.env!.map((e) => e.name)).toEqual(['LOG_LEVEL', 'CUTOVER_RELEASE']);
});

test('the Service selector of the first blue adds its controller revision, so green (same app labels) is not selected with it', () => {
  const green = greenManifest(blue, { name: 'g', version: '5.9.0' }, 'emqx/emqx:5.9.0', 3);
  expect(serviceSelectorFor({ app: 'emqx' }, green, 'StatefulSet', undefined)).toEqual({ app: 'emqx', 'cutover.io/release': 'g', 'controller-revision-hash': null });
  expect(serviceSelectorFor({ app: 'emqx', 'cutover.io/release': 'g' }, blue, 'StatefulSet', 'emqx-5d8f')).toEqual({
    app: 'emqx',
    'cutover.io/release': null,
    'controller-revision-hash': 'emqx-5d8f',
  });
  expect(serviceSelectorFor({ app: 'emqx' }, blue, 'Deployment', '7c9d')).toEqual({ app: 'emqx', 'cutover.io/release': null, 'pod-template-hash': '7c9d' });
  expect(() => serviceSelectorFor({ app: 'emqx' }, blue, 'StatefulSet', undefined)).toThrow('no current revision');
  expect(releaseServiceName('mqtt-prod-5-9-0')).toBe('cutover-mqtt-prod-5-9-0');
});
