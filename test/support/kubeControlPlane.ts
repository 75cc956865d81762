/**
 * A real Kubernetes control plane on loopback for the tests and the bench:
 * etcd, kube-apiserver (admin token, RBAC, service-account tokens), the
 * controller manager and scheduler, and KWOK with one fake node that runs
 * every pod it is given (kwokStages.yaml: an image tag ending in -typo never
 * pulls; a migration Job's pod waits for the test kubelet's exit code) and
 * serves pods' logs from the files that KWOK `Logs` objects name (the API
 * server reaches it as the node's kubelet, at 127.0.0.1). Binaries come from scripts/kube-binaries.sh (built
 * once into a cache outside the repository); data lives in a temp dir that
 * stop() removes. A small provisioner binds a PersistentVolume to each new
 * claim, as a cluster's storage would, so StatefulSets with claim templates run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, KubeConfig, loadAllYaml, Watch, type V1CustomResourceDefinition, type V1Node, type V1NodeSpec, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { projectRoot } from '../../src/runtime/binaries';
import { freePort } from '../../src/runtime/freePort';

export const KWOK_NODE = 'kwok-node-0';
/**
 * A second fake node whose pods get loopback addresses (all of 127.0.0.0/8
 * is local on Linux), so a test can run a pod's process at its pod IP. Only
 * pods that tolerate its taint and select it land there.
 */
export const LOOPBACK_NODE = { name: 'kwok-loopback-0', podCIDR: '127.77.0.0/24', taint: 'cutover.test/loopback' } as const;

/** A pod spec's placement on that node: its processes run at the pod's IP (a test kubelet starts them). */
export const ON_LOOPBACK_NODE = {
  nodeSelector: { 'kubernetes.io/hostname': LOOPBACK_NODE.name },
  tolerations: [{ key: LOOPBACK_NODE.taint, operator: 'Exists', effect: 'NoSchedule' }],
};

export interface ControlPlane {
  /** https://127.0.0.1:port of the API server. */
  url: string;
  /** The admin token (group system:masters). */
  token: string;
  dir: string;
  /** A kubeconfig file with the admin token. */
  kubeconfigPath: string;
  stop(): Promise<void>;
}

/** The directory of the pinned binaries and CRDs; builds them on first use (minutes). */
export function kubeBinaries(): string {
  return execFileSync('bash', [join(projectRoot, 'scripts', 'kube-binaries.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** A client configuration for the control plane with a token (the admin's unless given). */
export function kubeConfigFor(url: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: url, skipTLSVerify: true }],
    users: [{ name: 'test', token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return kc;
}

export async function startControlPlane(): Promise<ControlPlane> {
  const cache = kubeBinaries();
  const bin = (name: string) => join(cache, 'bin', name);
  const dir = mkdtempSync(join(tmpdir(), 'cutover-kube-'));
  const [etcdPort, peerPort, apiPort, kubeletPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const token = randomBytes(24).toString('hex');
  const url = `https://127.0.0.1:${apiPort}`;
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.reverse().map(terminate));
    rmSync(dir, { recursive: true, force: true });
  };
  const run = (name: string, args: string[]): ChildProcess => {
    const log = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn(bin(name), args, { stdio: ['ignore', log, log] });
    closeSync(log);
    children.push(child);
    return child;
  };

  try {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'sa.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`);
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(url, token));

    run('etcd', [
      '--name=default', `--data-dir=${join(dir, 'etcd')}`, '--unsafe-no-fsync', '--log-level=error',
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`, `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    ]);
    const apiserver = run('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`, `--secure-port=${apiPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
      `--cert-dir=${join(dir, 'pki')}`, `--token-auth-file=${join(dir, 'tokens.csv')}`, '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16', '--endpoint-reconciler-type=none', '--enable-priority-and-fairness=false', '--profiling=false',
      // it taints a new node not-ready, and only the node-lifecycle controller (off, below) would lift it
      '--disable-admission-plugins=TaintNodesByCondition',
    ]);
    await waitFor(`kube-apiserver (log: ${join(dir, 'kube-apiserver.log')})`, apiserver, () => get(`${url}/readyz`, token), 90_000);

    const common = [`--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--secure-port=0', '--profiling=false'];
    // KWOK's node heartbeat is slower than the node-lifecycle controller's grace period: without
    // this, that controller marks every pod not Ready after about a minute.
    run('kube-controller-manager', [...common, '--controllers=*,-node-lifecycle-controller', `--service-account-private-key-file=${join(dir, 'sa.key')}`, '--use-service-account-credentials=false']);
    run('kube-scheduler', [...common.filter((a) => a !== '--profiling=false')]);

    const kc = kubeConfigFor(url, token);
    const core = kc.makeApiClient(CoreV1Api);
    const node = (name: string, spec: V1NodeSpec = {}): V1Node => ({
      metadata: { name, labels: { type: 'kwok', 'kubernetes.io/hostname': name }, annotations: { 'kwok.x-k8s.io/node': 'fake' } },
      spec,
      status: {
        allocatable: { cpu: '64', memory: '256Gi', pods: '500' },
        capacity: { cpu: '64', memory: '256Gi', pods: '500' },
        // where the API server asks for a pod's log: KWOK's server below
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
      },
    });
    await core.createNode({ body: node(KWOK_NODE) });
    await core.createNode({
      body: node(LOOPBACK_NODE.name, { podCIDR: LOOPBACK_NODE.podCIDR, taints: [{ key: LOOPBACK_NODE.taint, value: 'true', effect: 'NoSchedule' }] }),
    });
    await installCrds(kc, join(cache, 'crds'));
    await installCrds(kc, __dirname, (f) => f === 'kwokLogsCrd.yaml');
    // the API server does not verify a kubelet's certificate unless told a CA: a self-signed one will do
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=kwok', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'kwok.key'), '-out', join(dir, 'kwok.crt')], { stdio: 'ignore' });
    run('kwok', [
      `--kubeconfig=${kubeconfigPath}`, '--manage-all-nodes=true', `--config=${join(__dirname, 'kwokStages.yaml')}`,
      `--server-address=127.0.0.1:${kubeletPort}`, `--tls-cert-file=${join(dir, 'kwok.crt')}`, `--tls-private-key-file=${join(dir, 'kwok.key')}`, '--enable-crds=Logs',
    ]);
    const provisioner = await provisionVolumes(kc);
    // pods are admitted only once the namespace's default ServiceAccount exists
    await waitFor('the default ServiceAccount', apiserver, async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
    }, 60_000);
    return {
      url,
      token,
      dir,
      kubeconfigPath,
      stop: async () => {
        provisioner.abort();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function kubeconfigYaml(url: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: test, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]`,
    `users: [{name: admin, user: {token: "${token}"}}]`,
    'contexts: [{name: test, context: {cluster: test, user: admin}}]',
    'current-context: test',
    '',
  ].join('\n');
}

function get(url: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`HTTP ${res.statusCode}`));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function waitFor(what: string, child: ChildProcess, probe: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what}: process exited with ${child.exitCode}`);
    try {
      await probe();
      return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** CRDs (Gateway API's standard ones, Istio's VirtualService, KWOK's Logs), established before any test uses them. */
async function installCrds(kc: KubeConfig, dir: string, pick = (f: string) => f.endsWith('.yaml')): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds = readdirSync(dir)
    .filter(pick)
    // read into client-node's models: sent as plain YAML, its serializer drops what it names otherwise (x-kubernetes-int-or-string in Istio's)
    .flatMap((f) => loadAllYaml(readFileSync(join(dir, f), 'utf8')) as V1CustomResourceDefinition[])
    .filter((d) => d?.kind === 'CustomResourceDefinition');
  await Promise.all(crds.map((body) => api.createCustomResourceDefinition({ body })));
  for (const crd of crds) {
    const name = crd.metadata!.name!;
    for (;;) {
      const now = await api.readCustomResourceDefinition({ name });
      if (now.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Binds a new hostPath PersistentVolume to every claim that has none, as a dynamic provisioner would. */
async function provisionVolumes(kc: KubeConfig): Promise<AbortController> {
  const core = kc.makeApiClient(CoreV1Api);
  const stopped = new AbortController();
  const provision = (claim: V1PersistentVolumeClaim): void => {
    if (claim.spec?.volumeName) return;
    const { namespace, name, uid } = claim.metadata!;
    core
      .createPersistentVolume({
        body: {
          metadata: { name: `pv-${uid}` },
          spec: {
            capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
            accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Delete',
            storageClassName: claim.spec?.storageClassName ?? '',
            hostPath: { path: `/tmp/kwok-volumes/${uid}` },
            claimRef: { namespace, name, uid },
          },
        },
      })
      .catch(() => undefined); // exists already: an earlier event provisioned it
  };
  const watch = async (resourceVersion?: string): Promise<void> => {
    if (stopped.signal.aborted) return;
    let rv = resourceVersion;
    if (!rv) {
      const list = await core.listPersistentVolumeClaimForAllNamespaces();
      list.items.forEach(provision);
      rv = list.metadata?.resourceVersion;
    }
    const controller = await new Watch(kc).watch(
      '/api/v1/persistentvolumeclaims',
      { resourceVersion: rv, allowWatchBookmarks: true },
      (type, obj: V1PersistentVolumeClaim) => {
        rv = obj.metadata?.resourceVersion ?? rv;
        if (type === 'ADDED' || type === 'MODIFIED') provision(obj);
      },
      () => void watch().catch(() => undefined), // relist: never miss a claim after an expiry
    );
    stopped.signal.addEventListener('abort', () => controller.abort());
  };
  await watch();
  return stopped;
}
