/**
 * An EMQX cluster on Kubernetes for workflow tests: a namespace of the
 * suite's control plane (real StatefulSet controller, KWOK running the pods)
 * and the suite's EMQX API server, tied together as EMQX's own clustering
 * would be (./emqxClustering.ts): a pod that turns Ready starts its EMQX node,
 * named from its pod spec as the image's start script names it, which joins
 * the cluster once its discovery strategy (dns, k8s, static, or by hand)
 * finds a running member, trying again as ekka does; a pod that goes away
 * stops it. Every request the activities send to either is kept in one log,
 * in the order it arrived.
 */
import type { Client } from '@temporalio/client';
import type { V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { TargetConfig } from '../../src/config/targets';
import type { KubernetesPlacement } from '../../src/config/targets';
import { createActivities } from '../../src/activities';
import { Mirror } from '../../src/activities/platforms/kubernetes/mirror';
import { kubeConfigFor } from './kubeControlPlane';
import { greenEdition, type EmqxEdition } from '../../src/domain/emqx/versions';
import { EmqxApiServer } from './emqxApiServer';
import { discover, nodeNameOf } from './emqxClustering';
import { TestNamespace, type RecordedRequest } from './kube';
import { TEST_STEERING_KEYS } from './steering';

export interface LogEntry {
  src: 'k8s' | 'emqx' | 'kubelet';
  what: string;
  body?: unknown;
  /** A Kubernetes request as sent, with the status it got. */
  request?: RecordedRequest;
}

const isReady = (p: V1Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** EMQX settings that drain a test cluster in about a second: evacuations at 100/s, one-second waits. */
export const FAST_DRAIN = { connEvictRate: 100, sessEvictRate: 100, waitTakeoverMs: 1000, waitHealthCheckMs: 1000, initialDelayMs: 100, drainIntervalMs: 200 };

/** Nodes named emqx@<pod> and joined by hand: the default blue of these tests. */
const BY_POD_NAME: V1EnvVar[] = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'EMQX_NODE__NAME', value: 'emqx@$(POD_NAME)' },
];
/** ekka retries discovery every ?DISCOVER_AND_JOIN_RETRY_INTERVAL (5 s); sooner here. */
const RETRY_DISCOVERY_MS = 100;

export interface EmqxOnKubeOptions {
  blueVersion?: string;
  edition?: EmqxEdition;
  replicas?: number;
  connections?: number;
  tickMs?: number;
  /** Blue's workload: a StatefulSet of cores (default) or a Deployment (replicants). */
  kind?: 'StatefulSet' | 'Deployment';
  /** Blue's container environment in the test's namespace: how its nodes are named and find each other (default: emqx@<pod>, joined by hand). */
  env?: (namespace: string) => V1EnvVar[];
  /** The target's nodeName template (default emqx@{pod}). */
  nodeName?: string;
}

export class EmqxOnKube {
  readonly log: LogEntry[] = [];
  private emqxSeen = 0;
  /** A node that never joins, to model a pod that is Ready but outside the cluster (emqx-operator #941). */
  readonly neverJoins = new Set<string>();
  private readonly pods: Mirror<V1Pod>;
  private passes: Promise<void> = Promise.resolve();
  private retry?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    readonly ns: TestNamespace,
    readonly emqx: EmqxApiServer,
    readonly target: TargetConfig & { kubernetes: KubernetesPlacement },
    readonly edition: EmqxEdition,
  ) {
    ns.beforeForwarding((r) => {
      this.flushEmqx();
      this.log.push({ src: 'k8s', what: `${r.method} ${r.path}`, body: r.body, request: r });
    });
    this.pods = new Mirror<V1Pod>({
      kc: kubeConfigFor(ns.url, ns.token),
      path: `/api/v1/namespaces/${ns.name}/pods`,
      list: () => ns.core.listNamespacedPod({ namespace: ns.name }),
      onChange: () => this.cluster(),
      onError: () => undefined,
    });
  }

  static async start(name: string, opts: EmqxOnKubeOptions = {}): Promise<EmqxOnKube> {
    const replicas = opts.replicas ?? 3;
    const version = opts.blueVersion ?? '5.7.0';
    const kind = opts.kind ?? 'StatefulSet';
    const ns = await TestNamespace.create(name);
    await ns.seedBlue({ kind, image: `emqx/emqx:${version}`, replicas, env: opts.env?.(ns.name) ?? BY_POD_NAME });
    const names = (await ns.pods('app=emqx')).map((p) => nodeNameOf(p)!);
    const emqx = await EmqxApiServer.start({
      nodes: names.map((node) => ({ name: node, version, edition: opts.edition, connections: opts.connections ?? 300 })),
      tickMs: opts.tickMs ?? 5,
    });
    const sys = new EmqxOnKube(
      ns,
      emqx,
      {
        name,
        kind: 'emqx',
        kubernetes: { namespace: ns.name, workload: { kind, name: 'emqx' }, service: 'emqx', pvcPolicy: 'delete' },
        emqx: { apiUrl: emqx.url, apiKey: { env: 'TEST_EMQX_KEY' }, apiSecret: { env: 'TEST_EMQX_SECRET' }, nodeName: opts.nodeName ?? 'emqx@{pod}' },
      },
      opts.edition ?? 'Enterprise',
    );
    await sys.pods.start();
    return sys;
  }

  /** The worker's activities for this target, with the admin token or the one given (a ServiceAccount's), through the recording proxy or what stands in front of it. */
  activities(temporal: Client, overrides: Partial<TargetConfig> = {}, token?: string, apiUrl = this.ns.proxyUrl) {
    return createActivities([{ ...this.target, ...overrides }], {
      temporal,
      steeringKeys: TEST_STEERING_KEYS,
      kubeConfigFor: () => kubeConfigFor(apiUrl, token ?? this.ns.token),
      env: { TEST_EMQX_KEY: this.emqx.apiKey, TEST_EMQX_SECRET: this.emqx.apiSecret },
      pollMs: 50,
    });
  }

  /** The log with EMQX requests up to now merged in. */
  entries(): LogEntry[] {
    this.flushEmqx();
    return this.log;
  }

  indexOf(src: LogEntry['src'], pattern: RegExp, from = 0): number {
    return this.entries().findIndex((e, i) => i >= from && e.src === src && pattern.test(e.what));
  }

  async serviceSelector(): Promise<Record<string, string>> {
    return (await this.ns.core.readNamespacedService({ name: 'emqx', namespace: this.ns.name })).spec?.selector ?? {};
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.pods.stop();
    await Promise.all([this.ns.delete(), this.emqx.close()]);
  }

  private flushEmqx(): void {
    for (; this.emqxSeen < this.emqx.requests.length; this.emqxSeen++) {
      const r = this.emqx.requests[this.emqxSeen];
      this.log.push({ src: 'emqx', what: `${r.method} ${r.path}`, body: r.body });
    }
  }

  /** One pass at a time: a pass reads Services and Endpoints, and passes come with every pod change. */
  private cluster(): void {
    this.passes = this.passes.then(() => this.pass()).catch(() => undefined);
  }

  /** EMQX's side of the pods: Ready starts (or restarts) its node, which joins once it finds the cluster; gone stops it. */
  private async pass(): Promise<void> {
    clearTimeout(this.retry);
    // EMQX's pods only (blue's app label, which green's copy carries), not cutover's own in the namespace
    const pods = this.pods.items().filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.labels?.app === 'emqx');
    const known = new Set(this.emqx.nodeNames());
    let waiting = false;
    for (const pod of pods.filter(isReady)) {
      const node = nodeNameOf(pod);
      if (!node || this.neverJoins.has(node)) continue;
      if (!known.has(node)) {
        const seeds = await discover(pod, pods, this.ns.core, this.ns.name);
        if (seeds !== 'manual' && !seeds.some((s) => s !== node && known.has(s) && this.emqx.node(s).status === 'running')) {
          waiting = true;
          continue;
        }
        const image = pod.spec?.containers[0]?.image ?? '';
        // the same image repository: the same edition (5.9 and later have only one)
        const version = image.split(':')[1]!;
        this.emqx.addNode({ name: node, version, edition: greenEdition(this.edition, version), connections: 0, sessions: 0 });
        this.log.push({ src: 'kubelet', what: `join ${node}` });
      } else if (this.emqx.node(node).status === 'stopped') {
        this.emqx.startNode(node);
        this.log.push({ src: 'kubelet', what: `restart ${node}` });
      }
    }
    const running = new Set(pods.map(nodeNameOf));
    for (const node of known) {
      if (!running.has(node) && this.emqx.node(node).status === 'running') {
        this.emqx.stopNode(node);
        this.log.push({ src: 'kubelet', what: `stop ${node}` });
      }
    }
    if (waiting && !this.closed) this.retry = setTimeout(() => this.cluster(), RETRY_DISCOVERY_MS);
  }
}
