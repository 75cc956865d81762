/**
 * Ownership on the suite's real control plane, through the Kubernetes
 * activities as an upgrade calls them (with its id as owner): what cutover
 * creates carries the target and the upgrade, the user's first blue is
 * adopted in plain sight (metadata only, no restart), and an object of
 * green's name that is not the target's fails the step before any write,
 * naming its owner; the undo leaves it alone.
 */
import { randomUUID } from 'node:crypto';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { releaseName, upgradeIdOf } from '../../../src/domain/upgrade';
import { exec, failure } from '../../support/activityHarness';
import { kubernetesPlatform, TestNamespace, type KubernetesPlatform } from '../../support/kube';

const TARGET = 'orders';
const OTHER = 'orders-view';
const GREEN = { name: releaseName(TARGET, '5.8.1'), version: '5.8.1' };
const OWNER = upgradeIdOf(TARGET, randomUUID());
const OTHERS = upgradeIdOf(OTHER, randomUUID());

let ns: TestNamespace;
beforeEach(async () => {
  ns = await TestNamespace.create('ownership');
});
afterEach(() => ns.delete());

function activities(httpRoute?: string): KubernetesPlatform {
  return kubernetesPlatform(
    [
      { name: TARGET, kind: 'emqx', kubernetes: { namespace: ns.name, workload: { kind: 'StatefulSet', name: 'emqx' }, service: 'emqx', ...(httpRoute ? { httpRoute } : {}) } },
      { name: OTHER, kind: 'emqx', kubernetes: { namespace: ns.name, workload: { kind: 'StatefulSet', name: 'view' }, service: 'view' } },
    ],
    () => ns.kubeConfig(),
  );
}

/** A StatefulSet of green's name that is not the target's: another target's (its marks), or the user's (none). */
async function squatter(marks?: { target: string; upgrade: string }): Promise<V1StatefulSet> {
  const labels = { app: 'squatter' };
  return ns.apps.createNamespacedStatefulSet({
    namespace: ns.name,
    body: {
      metadata: {
        name: GREEN.name,
        labels: { ...labels, ...(marks ? { 'cutover.io/target': marks.target } : {}) },
        annotations: marks ? { 'cutover.io/upgrade': marks.upgrade } : {},
      },
      spec: { replicas: 0, serviceName: 'squatter', selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'squatter:1' }] } } },
    },
  });
}

test("green, its pods and its claims carry the owner; the user's blue is adopted by its metadata alone, its pods not restarted; listReleases says whose each is", async () => {
  await ns.seedBlue();
  const a = activities();
  const blueBefore = (await ns.statefulSet('emqx'))!;
  const bluePods = (await ns.pods('app=emqx')).map((p) => p.metadata!.uid);
  await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1', owner: OWNER });

  const green = (await ns.statefulSet(GREEN.name))!;
  expect(green.metadata!.labels).toMatchObject({ 'cutover.io/target': TARGET, 'app.kubernetes.io/managed-by': 'cutover', 'cutover.io/release': GREEN.name });
  expect(green.metadata!.annotations).toMatchObject({ 'cutover.io/upgrade': OWNER });
  expect(green.spec!.volumeClaimTemplates![0]!.metadata).toMatchObject({ labels: { 'cutover.io/target': TARGET }, annotations: { 'cutover.io/upgrade': OWNER } });
  await exec(a.waitWorkloadReady, { target: TARGET, release: GREEN.name });
  expect((await ns.pods(`cutover.io/target=${TARGET}`)).map((p) => p.metadata!.name)).toEqual([0, 1, 2].map((i) => `${GREEN.name}-${i}`));
  const claims = await ns.core.listNamespacedPersistentVolumeClaim({ namespace: ns.name, labelSelector: `cutover.io/target=${TARGET}` });
  expect(claims.items.map((c) => c.metadata!.name).sort()).toEqual([0, 1, 2].map((i) => `data-${GREEN.name}-${i}`));

  const blue = (await ns.statefulSet('emqx'))!;
  expect(blue.metadata!.labels).toEqual({ app: 'emqx', 'cutover.io/target': TARGET, 'app.kubernetes.io/managed-by': 'cutover' });
  expect(blue.metadata!.annotations).toEqual({ 'cutover.io/adopted-by': OWNER });
  expect(blue.metadata!.generation).toBe(blueBefore.metadata!.generation);
  expect((await ns.pods('app=emqx,!cutover.io/release')).map((p) => p.metadata!.uid)).toEqual(bluePods);

  const releases = (await exec(a.listReleases, { target: TARGET })).sort((x, y) => x.name.localeCompare(y.name));
  expect(releases).toEqual([
    { name: 'emqx', version: '5.8.0', owner: { target: TARGET, adoptedBy: OWNER }, weight: 100, objects: ['StatefulSet emqx'] },
    { name: GREEN.name, version: '5.8.1', owner: { target: TARGET, upgrade: OWNER }, weight: 0, objects: [`StatefulSet ${GREEN.name}`] },
  ]);
});

test.each([
  ['another target', { target: OTHER, upgrade: OTHERS }, `StatefulSet ${GREEN.name} belongs to target '${OTHER}' (created by upgrade ${OTHERS}), not to target '${TARGET}'`],
  ['nobody (the user)', undefined, `StatefulSet ${GREEN.name} carries no owner mark: it was not created by cutover for target '${TARGET}'`],
])("green's name taken by %s: the step fails before a single write, naming the owner; the undo and a scale leave it alone", async (_who, marks, message) => {
  await ns.seedBlue();
  const a = activities();
  const theirs = await squatter(marks);
  ns.requests.length = 0;

  const clash = await failure(exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1', owner: OWNER }));
  expect(clash.type).toBe('NotOwned');
  expect(clash.nonRetryable).toBe(true);
  expect(clash.message).toBe(`${message}; cutover leaves it as it is`);
  expect(ns.writes()).toEqual([]);

  // the rollback's undo of deployGreen, and any scale, on what is not the target's
  expect(await exec(a.deleteWorkload, { target: TARGET, release: GREEN.name, owner: OWNER })).toEqual({ deleted: false, claimsDeleted: [], left: `${message}; cutover leaves it as it is` });
  expect((await failure(exec(a.scaleWorkload, { target: TARGET, release: GREEN.name, replicas: 3, owner: OWNER }))).type).toBe('NotOwned');
  expect(ns.writes()).toEqual([]);
  const after = (await ns.statefulSet(GREEN.name))!;
  expect(after.metadata).toMatchObject({ uid: theirs.metadata!.uid, generation: theirs.metadata!.generation, labels: theirs.metadata!.labels });
  expect(after.spec!.replicas).toBe(0);
  // blue was not adopted, the Service not pinned: nothing of the target's changed either
  expect((await ns.statefulSet('emqx'))!.metadata!.labels).toEqual({ app: 'emqx' });
  expect((await ns.core.readNamespacedService({ name: 'emqx', namespace: ns.name })).spec!.selector).toEqual({ app: 'emqx' });
  // and the target does not list it as its own
  expect((await exec(a.listReleases, { target: TARGET })).map((r) => r.name)).toEqual(['emqx']);
});

test('a release that serves is never deleted, whoever asks', async () => {
  await ns.seedBlue();
  const refused = await failure(exec(activities().deleteWorkload, { target: TARGET, release: 'emqx', owner: OWNER }));
  expect(refused.type).toBe('Invalid');
  expect(refused.message).toBe(`release emqx serves target '${TARGET}' now; switch traffic away before deleting it`);
  expect(await ns.statefulSet('emqx')).toBeDefined();
});

test("with an HTTPRoute: blue's Service made by an older cutover is adopted with blue, a green Service of another target's is a clash", async () => {
  await ns.seedBlue();
  await ns.createRoute('emqx', 'emqx');
  const service = (name: string, labels: Record<string, string>) =>
    ns.core.createNamespacedService({ namespace: ns.name, body: { metadata: { name, labels }, spec: { selector: { app: 'emqx' }, ports: [{ port: 1883 }] } } });
  await service('cutover-emqx', { 'cutover.io/release': 'emqx' });
  await service(`cutover-${GREEN.name}`, { 'cutover.io/release': GREEN.name, 'cutover.io/target': OTHER });
  const a = activities('emqx');
  ns.requests.length = 0;
  const clash = await failure(exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1', owner: OWNER }));
  expect(clash.message).toMatch(new RegExp(`^Service cutover-${GREEN.name} belongs to target '${OTHER}'`));
  expect(ns.writes()).toEqual([]);

  await ns.core.deleteNamespacedService({ name: `cutover-${GREEN.name}`, namespace: ns.name });
  await exec(a.ensureGreenWorkload, { target: TARGET, green: GREEN, image: 'emqx/emqx:5.8.1', owner: OWNER });
  const read = (name: string) => ns.core.readNamespacedService({ name, namespace: ns.name });
  expect((await read('cutover-emqx')).metadata).toMatchObject({ labels: { 'cutover.io/target': TARGET }, annotations: { 'cutover.io/adopted-by': OWNER } });
  expect((await read(`cutover-${GREEN.name}`)).metadata).toMatchObject({ labels: { 'cutover.io/target': TARGET }, annotations: { 'cutover.io/upgrade': OWNER } });
});
