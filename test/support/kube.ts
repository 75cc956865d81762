/**
 * A test file's own namespace on the suite's control plane (started by
 * globalSetup when a selected file imports this module), with what tests
 * need around it: an admin client, a blue workload as a user's cluster has
 * it, what a Service selects, and a recording proxy in front of the API
 * server so a test can see the requests an activity sent, in order.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1Deployment,
  type V1Pod,
  type V1EnvVar,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { kubernetesClusters } from '../../src/activities/platforms/kubernetes/client';
import { createKubernetesActivities } from '../../src/activities/platforms/kubernetes/workloads';
import { createRouterActivities } from '../../src/activities/routers';
import { targetLookup, type TargetConfig } from '../../src/config/targets';
import { kubeConfigFor } from './kubeControlPlane';

export const KUBE_ENV = { url: 'CUTOVER_TEST_KUBE_URL', token: 'CUTOVER_TEST_KUBE_TOKEN' } as const;

/** The Kubernetes platform's activities for these targets, with setWeights through each one's router, as the worker has them. */
export function kubernetesPlatform(targets: TargetConfig[], kc: () => KubeConfig) {
  const deps = { targets: targetLookup(targets), kubeConfigFor: kc };
  const clusters = kubernetesClusters(deps);
  return { ...createKubernetesActivities({ ...deps, clusters }), ...createRouterActivities({ ...deps, clusters }) };
}

export type KubernetesPlatform = ReturnType<typeof kubernetesPlatform>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: unknown;
  /** The API server's answer, once it came. */
  status?: number;
}

export interface BlueSpec {
  kind?: 'StatefulSet' | 'Deployment';
  name?: string;
  image?: string;
  replicas?: number;
  service?: string;
  /** The application container's environment (EMQX: its node name and cluster discovery). */
  env?: V1EnvVar[];
}

export const VIRTUAL_SERVICES = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' } as const;

/** A VirtualService's route as stored. */
export interface IstioRoute {
  name?: string;
  route: { destination: { host: string; port?: { number: number } }; weight?: number }[];
}

let counter = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ready = (p: V1Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export class TestNamespace {
  readonly requests: RecordedRequest[] = [];
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  private hook: (r: RecordedRequest) => unknown = () => undefined;
  private readonly openWatches = new Set<{ path: string; cut: () => void }>();
  private expiring: { suffix: string; left: number } | undefined;
  /** TCP connections the proxy has accepted: what the clients' connection reuse shows in. */
  connections = 0;

  private constructor(
    readonly name: string,
    readonly url: string,
    readonly token: string,
    private readonly proxy: Server,
  ) {
    const kc = kubeConfigFor(url, token);
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /** A fresh namespace (named after the prefix) whose default ServiceAccount exists, so pods are admitted. */
  static async create(prefix: string): Promise<TestNamespace> {
    const url = process.env[KUBE_ENV.url];
    const token = process.env[KUBE_ENV.token];
    if (!url || !token) throw new Error('no test control plane: globalSetup starts one for test files that import test/support/kube');
    const name = `${prefix}-${process.pid}-${++counter}`.slice(0, 63);
    const ns = await new Promise<TestNamespace>((resolve) => {
      const proxy = createServer();
      proxy.listen(0, '127.0.0.1', () => resolve(new TestNamespace(name, url, token, proxy)));
    });
    ns.proxy.on('request', (req, res) => void ns.forward(req, res));
    ns.proxy.on('connection', () => ns.connections++);
    await ns.core.createNamespace({ body: { metadata: { name } } });
    for (;;) {
      try {
        await ns.core.readNamespacedServiceAccount({ name: 'default', namespace: name });
        return ns;
      } catch {
        await sleep(50);
      }
    }
  }

  /** The address of the recording proxy (plain HTTP), which forwards to the API server. */
  get proxyUrl(): string {
    return `http://127.0.0.1:${(this.proxy.address() as AddressInfo).port}`;
  }

  /** A client configuration through the recording proxy, with the admin token or the one given. */
  kubeConfig(token = this.token): KubeConfig {
    return kubeConfigFor(this.proxyUrl, token);
  }

  /** The requests that changed something (not reads, not watches). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  /** Called with each request before it is forwarded (awaited), e.g. to change something in between. */
  beforeForwarding(fn: (r: RecordedRequest) => unknown): void {
    this.hook = fn;
  }

  /**
   * Blue as a user has it before cutover: a StatefulSet (or Deployment) `emqx`
   * of pods labelled `app: emqx` with a data claim template, its headless
   * Service and the Service `emqx` clients use; returns once every pod is Ready.
   */
  async seedBlue(spec: BlueSpec = {}): Promise<void> {
    const { kind = 'StatefulSet', name = 'emqx', image = 'emqx/emqx:5.8.0', replicas = 3, service = 'emqx', env } = spec;
    const namespace = this.name;
    const labels = { app: name };
    const template = { metadata: { labels }, spec: { containers: [{ name: 'emqx', image, env, ports: [{ name: 'mqtt', containerPort: 1883 }] }] } };
    await this.core.createNamespacedService({
      namespace,
      body: { metadata: { name: `${name}-headless` }, spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'mqtt', port: 1883 }] } },
    });
    await this.core.createNamespacedService({ namespace, body: { metadata: { name: service }, spec: { selector: labels, ports: [{ name: 'mqtt', port: 1883 }] } } });
    if (kind === 'StatefulSet') {
      const body: V1StatefulSet = {
        metadata: { name, labels },
        spec: {
          replicas,
          serviceName: `${name}-headless`,
          // as EMQX's Helm chart: nodes start together and find each other
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: labels },
          template,
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
        },
      };
      await this.apps.createNamespacedStatefulSet({ namespace, body });
    } else {
      const body: V1Deployment = { metadata: { name, labels }, spec: { replicas, selector: { matchLabels: labels }, template } };
      await this.apps.createNamespacedDeployment({ namespace, body });
    }
    await this.until(async () => (await this.pods(`app=${name}`)).filter(ready).length === replicas);
    // settled as `kubectl rollout status` would say: the controller has written its last status, so a
    // test's conditional write does not race the controller's own status update (a 409 in CI)
    await this.until(async () => {
      const w = kind === 'StatefulSet' ? await this.statefulSet(name) : await this.apps.readNamespacedDeployment({ name, namespace }).catch(() => undefined);
      const s = w?.status;
      return !!s && s.observedGeneration === w.metadata?.generation && (s.readyReplicas ?? 0) === replicas && (s.availableReplicas ?? 0) === replicas && (s.updatedReplicas ?? 0) === replicas;
    });
  }

  /** Pods by label selector, in name order (ordinal order for a StatefulSet). */
  async pods(labelSelector?: string): Promise<V1Pod[]> {
    const list = await this.core.listNamespacedPod({ namespace: this.name, labelSelector });
    return list.items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }));
  }

  /** The Ready pods a Service's selector picks now: where its traffic goes. */
  async endpoints(service: string): Promise<string[]> {
    const selector = (await this.core.readNamespacedService({ name: service, namespace: this.name })).spec?.selector ?? {};
    const pods = await this.pods(Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(','));
    return pods.filter((p) => ready(p) && !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
  }

  async statefulSet(name: string): Promise<V1StatefulSet | undefined> {
    return this.apps.readNamespacedStatefulSet({ name, namespace: this.name }).catch(() => undefined);
  }

  /** A Gateway API HTTPRoute `name` whose one rule sends everything to Service `backend` (the CRD gives it weight 1). */
  async createRoute(name: string, backend: string, port = 1883): Promise<void> {
    await this.custom.createNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      namespace: this.name,
      plural: 'httproutes',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name },
        spec: { parentRefs: [{ name: 'gateway' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: backend, port }] }] },
      },
    });
  }

  /** An Istio VirtualService `name` (networking.istio.io/v1) with the given routes, for hosts `[name]`. */
  async createVirtualService(name: string, spec: { http?: object[]; tcp?: object[] }): Promise<void> {
    await this.custom.createNamespacedCustomObject({
      ...VIRTUAL_SERVICES,
      namespace: this.name,
      body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name }, spec: { hosts: [name], ...spec } },
    });
  }

  async virtualService(name: string): Promise<{ metadata: { generation: number }; spec: { http?: IstioRoute[]; tcp?: IstioRoute[] } }> {
    return (await this.custom.getNamespacedCustomObject({ ...VIRTUAL_SERVICES, namespace: this.name, name })) as never;
  }

  async claims(): Promise<string[]> {
    return (await this.core.listNamespacedPersistentVolumeClaim({ namespace: this.name })).items.map((c) => c.metadata!.name!).sort();
  }

  async until(fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  async delete(): Promise<void> {
    this.proxy.closeAllConnections();
    await new Promise((r) => this.proxy.close(r));
    // the namespace controller removes what is in it; nobody waits for that
    await this.core.deleteNamespace({ name: this.name }).catch(() => undefined);
  }

  /**
   * A watch expiry as the API server signals it: cuts the open watches whose
   * path ends so, and answers the next `count` of them with an ERROR event 410
   * Gone and an end, as when their resourceVersion has been compacted away.
   */
  expireWatches(suffix: string, count: number): void {
    this.expiring = { suffix, left: count };
    for (const w of this.openWatches) if (w.path.endsWith(suffix)) w.cut();
  }

  private async forward(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const u = new URL(req.url!, 'http://proxy');
    const recorded: RecordedRequest = { method: req.method!, path: u.pathname, query: Object.fromEntries(u.searchParams) };
    if (req.headers['content-type']) recorded.contentType = req.headers['content-type'].split(';')[0];
    if (raw.length) recorded.body = JSON.parse(raw.toString());
    this.requests.push(recorded);
    await this.hook(recorded);
    const watching = recorded.query.watch === 'true';
    if (watching && this.expiring && this.expiring.left > 0 && u.pathname.endsWith(this.expiring.suffix)) {
      this.expiring.left--;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' } }) + '\n');
      return;
    }
    const headers = { ...req.headers, host: new URL(this.url).host };
    const upstream = request(`${this.url}${req.url}`, { method: req.method, headers, rejectUnauthorized: false }, (up) => {
      recorded.status = up.statusCode;
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    const open = { path: u.pathname, cut: () => res.destroy() };
    if (watching) this.openWatches.add(open);
    res.on('close', () => {
      this.openWatches.delete(open);
      upstream.destroy();
    });
    upstream.end(raw);
  }
}
