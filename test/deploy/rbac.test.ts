/**
 * cutover's shipped RBAC, proven on the real control plane: the manifests of
 * deploy/kubernetes are applied (server-side apply), and a whole EMQX upgrade
 * runs with the cutover ServiceAccount's own token (TokenRequest), not the
 * admin's. With one verb taken from the Role the same upgrade fails with a 403
 * that names the verb and the resource, and rolls back: nothing is half-done.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';
import { releaseName, upgradeWorkflowId, type UpgradeState } from '../../src/domain/upgrade';
import { EmqxOnKube, FAST_DRAIN } from '../support/emqxOnKube';
import { applyForCutover, shippedManifests } from '../support/shippedRbac';
import { sharedServerForFile, startWorker, uniqueId, upgradeInput } from '../support/temporal';

const file = sharedServerForFile();
const { cleanups } = file;

/** Applies the shipped manifests as `kubectl apply --server-side` would and returns a token of the cutover ServiceAccount. */
async function deployCutover(sys: EmqxOnKube, role: (rules: V1PolicyRule[]) => V1PolicyRule[] = (r) => r): Promise<string> {
  const objects = shippedManifests(sys.ns.name, role);
  expect(objects.map((o) => o.kind).sort()).toEqual([
    'ConfigMap',
    'Deployment',
    'Deployment',
    ...Array(4).fill('NetworkPolicy'),
    'PersistentVolumeClaim',
    'Role',
    'RoleBinding',
    'Secret',
    'Service',
    'ServiceAccount',
  ]);
  return applyForCutover(sys.ns, objects);
}

async function upgrade(sys: EmqxOnKube, token: string): Promise<UpgradeState> {
  const taskQueue = uniqueId('rbac');
  const w = await startWorker(file.env, taskQueue, sys.activities(file.env.client, {}, token), { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! } });
  cleanups.push(() => w.stop());
  const input = upgradeInput({ kind: 'emqx', target: sys.target.name, version: '5.8.0', settings: { emqx: FAST_DRAIN }, options: { maxAttempts: 3 } });
  const h = await file.env.client.workflow.start('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(input.target), args: [input] });
  return (await h.result()) as UpgradeState;
}

async function cluster(): Promise<EmqxOnKube> {
  const sys = await EmqxOnKube.start(uniqueId('rbac'));
  cleanups.push(() => sys.close());
  return sys;
}

test('the cutover ServiceAccount bound to the shipped Role upgrades an EMQX target end to end', async () => {
  const sys = await cluster();
  const final = await upgrade(sys, await deployCutover(sys));
  expect(final.status).toBe('SUCCEEDED');
  expect(await sys.ns.endpoints('emqx')).toEqual([0, 1, 2].map((i) => `${releaseName(sys.target.name, '5.8.0')}-${i}`));
}, 120_000);

test('without "patch" on services the upgrade fails at once with a 403 naming verb and resource, and nothing is left half-done', async () => {
  const sys = await cluster();
  const withoutPatch = (rules: V1PolicyRule[]) =>
    rules.map((r) => (r.resources?.includes('services') ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') } : r));
  const final = await upgrade(sys, await deployCutover(sys, withoutPatch));
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure?.message).toContain('cannot patch resource "services"');
  expect(final.failure?.message).toContain('system:serviceaccount:');
  // nothing half-done: no green, blue whole and serving alone
  expect(await sys.ns.statefulSet(releaseName(sys.target.name, '5.8.0'))).toBeUndefined();
  expect((await sys.ns.statefulSet('emqx'))?.spec?.replicas).toBe(3);
  expect(await sys.serviceSelector()).toEqual({ app: 'emqx' });
  expect(final.failure?.step).toBe('deployGreen');
  expect(await sys.ns.endpoints('emqx')).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
}, 120_000);
