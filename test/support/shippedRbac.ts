/**
 * cutover's shipped manifests (deploy/kubernetes) placed in a test namespace,
 * which plays both cutover's namespace and the target's, applied as `kubectl
 * apply --server-side` would; and a token of the cutover ServiceAccount, so
 * activities run with the shipped Role's rights, not the admin's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject, type V1PolicyRule } from '@kubernetes/client-node';
import { kubeConfigFor } from './kubeControlPlane';
import type { TestNamespace } from './kube';

const DEPLOY = join(__dirname, '../../deploy/kubernetes');

/** The shipped manifests (of one file, or all), in the namespace, the Role changed as given. */
export function shippedManifests(namespace: string, role: (rules: V1PolicyRule[]) => V1PolicyRule[] = (r) => r, file?: string): KubernetesObject[] {
  return readdirSync(DEPLOY)
    .filter((f) => (file ? f === file : f.endsWith('.yaml')))
    .flatMap((f) => parseAllDocuments(readFileSync(join(DEPLOY, f), 'utf8')).map((d) => d.toJS() as KubernetesObject & Record<string, never>))
    .map((o) => {
      const obj = { ...o, metadata: { ...o.metadata, namespace } } as KubernetesObject & { rules?: V1PolicyRule[]; subjects?: { namespace?: string }[] };
      if (obj.kind === 'Role') obj.rules = role(obj.rules ?? []);
      obj.subjects?.forEach((s) => (s.namespace = namespace));
      return obj;
    });
}

/** Applies the objects server-side and returns a token of the cutover ServiceAccount. */
export async function applyForCutover(ns: TestNamespace, objects: KubernetesObject[]): Promise<string> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfigFor(ns.url, ns.token));
  for (const o of objects) await api.patch(o, undefined, undefined, 'cutover-test', true, PatchStrategy.ServerSideApply);
  const { status } = await ns.core.createNamespacedServiceAccountToken({ name: 'cutover', namespace: ns.name, body: { spec: { audiences: [] } } });
  return status!.token!;
}
