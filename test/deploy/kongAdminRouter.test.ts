/**
 * The Admin API router's manifest on the real control plane: applied as
 * `kubectl apply --server-side` would, its Deployment's pods become Ready
 * (KWOK plays the kubelet) and its Service selects them; what the container
 * is given is what the router accepts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject, type V1Deployment, type V1Secret, type V1Service } from '@kubernetes/client-node';
import { loadRouterEnv } from '../../src/kongAdminRouter/env';
import { TestNamespace } from '../support/kube';
import { kubeConfigFor } from '../support/kubeControlPlane';

const MANIFEST = join(__dirname, '../../deploy/kubernetes/kong/admin-router.yaml');
const objects = parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as KubernetesObject);
const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
const service = objects.find((o) => o.kind === 'Service') as V1Service;
const secret = objects.find((o) => o.kind === 'Secret') as V1Secret;

let ns: TestNamespace;
beforeAll(async () => {
  ns = await TestNamespace.create('admin-router');
});
afterAll(() => ns?.delete());

test('what the container is given is what the router accepts: its entry point, the Secret holding the database URL', () => {
  expect(objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'Secret', 'Service']);
  const container = deployment.spec!.template.spec!.containers[0]!;
  expect(container.command).toEqual(['node', '--import', 'tsx', 'src/bin/kongAdminRouter.ts']);
  const ref = container.env!.find((e) => e.name === 'CUTOVER_ADMIN_ROUTER_DATABASE_URL')!.valueFrom!.secretKeyRef!;
  expect(ref.name).toBe(secret.metadata!.name);
  const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value ?? secret.stringData![e.valueFrom!.secretKeyRef!.key]]));
  const routerEnv = loadRouterEnv(env);
  expect(routerEnv).toMatchObject({ host: '0.0.0.0', port: 8001, upstreams: ['http://kong-admin.kong:8001'], metrics: '0.0.0.0:9464' });
  expect(container.ports).toEqual([
    { name: 'admin', containerPort: routerEnv.port },
    { name: 'metrics', containerPort: 9464 },
  ]);
  expect(container.readinessProbe!.httpGet).toEqual({ path: '/healthz', port: 'admin' });
  expect(service.spec!.ports).toEqual([{ name: 'admin', port: 8001, targetPort: 'admin' }]);
});

test("applied: the Deployment's pods become Ready and the Service selects them", async () => {
  const api = KubernetesObjectApi.makeApiClient(kubeConfigFor(ns.url, ns.token));
  for (const o of objects) await api.patch({ ...o, metadata: { ...o.metadata, namespace: ns.name } }, undefined, undefined, 'cutover-test', true, PatchStrategy.ServerSideApply);
  const selector = Object.entries(deployment.spec!.selector.matchLabels!).map(([k, v]) => `${k}=${v}`).join(',');
  const replicas = deployment.spec!.replicas!;
  const ready = async () => (await ns.pods(selector)).filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  await ns.until(async () => (await ready()).length === replicas, 30_000);
  const pods = (await ready()).map((p) => p.metadata!.name!);
  expect(pods).toHaveLength(2);
  expect(await ns.endpoints(service.metadata!.name!)).toEqual(pods);
  await ns.until(async () => (await ns.apps.readNamespacedDeployment({ name: deployment.metadata!.name!, namespace: ns.name })).status?.readyReplicas === replicas);
  console.log(`admin router on the control plane: pods ${pods.join(', ')} Ready, selected by Service ${service.metadata!.name}`);
}, 60_000);
