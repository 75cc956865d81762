/**
 * What deploy/kubernetes and the Dockerfile promise, read from the files (the
 * control-plane test test/deploy/rbac.test.ts applies them server-side):
 * who may connect to what, which Deployment gets which secrets, where the
 * backups go and that the image can take them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import type { V1Deployment, V1LabelSelector, V1PersistentVolumeClaim } from '@kubernetes/client-node';

/** As the YAML says it (the client library's type names the field `_from`). */
interface Peer {
  podSelector?: V1LabelSelector;
  namespaceSelector?: V1LabelSelector;
  ipBlock?: unknown;
}
interface IngressRule {
  from?: Peer[];
  ports?: { port: number; protocol: string }[];
}
interface NetworkPolicy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: V1LabelSelector; policyTypes: string[]; ingress?: IngressRule[] };
}

const root = join(__dirname, '../..');
const DEPLOY = join(root, 'deploy', 'kubernetes');
const objects = readdirSync(DEPLOY)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(DEPLOY, f), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } }));
const ofKind = <T>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];
const deployment = (component: string) => ofKind<V1Deployment>('Deployment').find((d) => d.metadata?.labels?.['app.kubernetes.io/component'] === component)!;
const policies = ofKind<NetworkPolicy>('NetworkPolicy');

/** The ingress rules of the policies that select a pod with these labels in this namespace. */
function ingressOf(namespace: string, labels: Record<string, string>) {
  const selects = (p: NetworkPolicy) =>
    p.metadata.namespace === namespace &&
    Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
    (p.spec.podSelector.matchExpressions ?? []).length === 0;
  const selecting = policies.filter(selects);
  expect(selecting.every((p) => p.spec.policyTypes.includes('Ingress'))).toBe(true);
  return selecting.flatMap((p) => p.spec.ingress ?? []);
}
/** A peer that admits a pod from another namespace, or any address. */
const fromOutside = (peer: Peer | undefined) => !peer || peer.namespaceSelector !== undefined || peer.ipBlock !== undefined;

test("in cutover's namespace only the API is reachable from outside it, and only on its port", () => {
  const api = ingressOf('cutover', deployment('api').spec!.template.metadata!.labels!);
  expect(api.filter((r) => !r.from || r.from.some(fromOutside))).toEqual([{ ports: [{ port: 8080, protocol: 'TCP' }] }]);
  const worker = ingressOf('cutover', deployment('worker').spec!.template.metadata!.labels!);
  expect(worker.length).toBeGreaterThan(0); // selected: denied by default
  expect(worker.filter((r) => !r.from || r.from.some(fromOutside))).toEqual([]);
  // any other pod in the namespace: nothing admitted
  expect(ingressOf('cutover', { app: 'something-else' })).toEqual([]);
});

test("Temporal's frontend takes connections from Temporal's own pods and from cutover's API and workers, nobody else", () => {
  const rules = ingressOf('temporal', { 'app.kubernetes.io/name': 'temporal', 'app.kubernetes.io/component': 'frontend' });
  const outside = rules.filter((r) => !r.from || r.from.some(fromOutside));
  expect(outside).toEqual([
    {
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'cutover' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'cutover' }, matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['api', 'worker'] }] },
        },
      ],
      ports: [{ port: 7233, protocol: 'TCP' }],
    },
  ]);
  for (const component of ['api', 'worker']) expect(deployment(component).spec!.template.metadata!.labels).toMatchObject({ 'app.kubernetes.io/name': 'cutover', 'app.kubernetes.io/component': component });
});

test("the API gets only the API's secrets; the worker the targets' credentials; both the steering key", () => {
  const secretsOf = (component: string) => {
    const pod = deployment(component).spec!.template.spec!;
    const env = pod.containers.flatMap((c) => c.envFrom ?? []).map((e) => e.secretRef?.name);
    const volumes = (pod.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : []));
    return [...env, ...volumes].sort();
  };
  expect(secretsOf('api')).toEqual(['cutover-api-tokens', 'cutover-steering-keys', 'cutover-temporal', 'cutover-temporal-tls']);
  expect(secretsOf('worker')).toEqual(['cutover-steering-keys', 'cutover-temporal', 'cutover-temporal-tls', 'cutover-worker-secrets']);
  for (const component of ['api', 'worker']) {
    const c = deployment(component).spec!.template.spec!.containers[0];
    expect(c.env).toContainEqual({ name: 'CUTOVER_STEERING_KEYS_FILE', value: '/etc/cutover-steering/keys' });
    expect(c.volumeMounts).toContainEqual({ name: 'steering-keys', mountPath: '/etc/cutover-steering', readOnly: true });
  }
});

test('each Deployment runs its production entry, and the worker serves its metrics on the port it names', () => {
  for (const component of ['api', 'worker']) {
    const command = deployment(component).spec!.template.spec!.containers[0].command!;
    expect(command).toEqual(['node', '--import', 'tsx', `src/bin/${component}.ts`]);
    expect(existsSync(join(__dirname, '../..', command[3]))).toBe(true);
  }
  const worker = deployment('worker').spec!.template.spec!.containers[0];
  const listen = worker.env!.find((e) => e.name === 'CUTOVER_WORKER_METRICS')!.value!;
  expect(worker.ports).toContainEqual({ name: 'metrics', containerPort: Number(listen.split(':')[1]) });
});

test('the worker writes its backups to a claimed volume of its own user, on a read-only root filesystem', () => {
  const pod = deployment('worker').spec!.template.spec!;
  const c = pod.containers[0];
  const dir = c.env!.find((e) => e.name === 'CUTOVER_BACKUP_DIR')!.value!;
  const mount = c.volumeMounts!.find((m) => m.mountPath === dir)!;
  expect(mount.readOnly).toBeFalsy();
  const claim = pod.volumes!.find((v) => v.name === mount.name)!.persistentVolumeClaim!.claimName;
  expect(ofKind<V1PersistentVolumeClaim>('PersistentVolumeClaim').map((p) => p.metadata!.name)).toContain(claim);
  expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
  expect(pod.securityContext).toMatchObject({ runAsUser: 1000, fsGroup: 1000 });
});

test('the image carries pg_dump as new as every PostgreSQL cutover meets, and a backup directory only its user reads', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const major = Number(/postgresql-client-(\d+)/.exec(dockerfile)?.[1]);
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: { postgresql: { image: string } } };
  const met = [Number(/postgres:(\d+)/.exec(compose.services.postgresql.image)![1]), ...readdirSync('/usr/lib/postgresql').map(Number)];
  expect(major).toBeGreaterThanOrEqual(Math.max(...met));
  const dir = /ENV CUTOVER_BACKUP_DIR=(\S+)/.exec(dockerfile)![1];
  expect(dockerfile).toContain(`install -d -o node -g node -m 0700 ${dir}`);
  expect(dockerfile.indexOf('USER node')).toBeGreaterThan(dockerfile.indexOf(dir));
});
