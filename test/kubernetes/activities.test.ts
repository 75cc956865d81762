/** The Kubernetes activities through the real @kubernetes/client-node against the test API server, in Temporal's mock activity context. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createKubernetesActivities, type KubernetesActivities } from '../../src/activities/kubernetes';
import { targetLookup, type KubernetesPlacement } from '../../src/config/targets';
import { releaseName } from '../../src/domain/upgrade';
import { KubeApiServer, seedBlue } from '../support/kubeApiServer';

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

function run<A, R>(fn: (a: A) => Promise<R>, input: A): { result: Promise<R>; heartbeats: unknown[]; env: MockActivityEnvironment } {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return { result: env.run(fn, input), heartbeats, env };
}
const exec = <A, R>(fn: (a: A) => Promise<R>, input: A): Promise<R> => run(fn, input).result;

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
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
    await exec(a.switchService, { target: TARGET, release: GREEN.name });
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
