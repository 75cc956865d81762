/**
 * An EMQX cluster on Kubernetes for workflow tests: a namespace of the
 * suite's control plane (real StatefulSet controller, KWOK running the pods)
 * and the suite's EMQX API server, tied together as EMQX's own clustering
 * would be: a pod that turns Ready starts its EMQX node (which joins the
 * cluster), a pod that goes away stops it. Every request the activities send
 * to either is kept in one log, in the order it arrived.
 */
import type { Client } from '@temporalio/client';
import type { V1Pod } from '@kubernetes/client-node';
import type { TargetConfig } from '../../src/config/targets';
import type { KubernetesPlacement } from '../../src/config/targets';
import { createActivities } from '../../src/activities';
import { Mirror } from '../../src/activities/platforms/kubernetesMirror';
import { kubeConfigFor } from './kubeControlPlane';
import { EmqxApiServer } from './emqxApiServer';
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

export class EmqxOnKube {
  readonly log: LogEntry[] = [];
  private emqxSeen = 0;
  /** A node that never joins, to model a pod that is Ready but outside the cluster (emqx-operator #941). */
  readonly neverJoins = new Set<string>();
  private readonly pods: Mirror<V1Pod>;

  private constructor(
    readonly ns: TestNamespace,
    readonly emqx: EmqxApiServer,
    readonly target: TargetConfig & { kubernetes: KubernetesPlacement },
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

  static async start(name: string, opts: { blueVersion?: string; replicas?: number; connections?: number; tickMs?: number } = {}): Promise<EmqxOnKube> {
    const replicas = opts.replicas ?? 3;
    const version = opts.blueVersion ?? '5.7.0';
    const ns = await TestNamespace.create(name);
    const emqx = await EmqxApiServer.start({
      nodes: Array.from({ length: replicas }, (_, i) => ({ name: `emqx@emqx-${i}`, version, connections: opts.connections ?? 300 })),
      tickMs: opts.tickMs ?? 5,
    });
    await ns.seedBlue({ image: `emqx/emqx:${version}`, replicas });
    const sys = new EmqxOnKube(ns, emqx, {
      name,
      kind: 'emqx',
      kubernetes: { namespace: ns.name, workload: { kind: 'StatefulSet', name: 'emqx' }, service: 'emqx', pvcPolicy: 'delete' },
      emqx: { apiUrl: emqx.url, apiKey: { env: 'TEST_EMQX_KEY' }, apiSecret: { env: 'TEST_EMQX_SECRET' }, nodeName: 'emqx@{pod}' },
    });
    await sys.pods.start();
    return sys;
  }

  /** The worker's activities for this target, with the admin token or the one given (a ServiceAccount's). */
  activities(temporal: Client, overrides: Partial<TargetConfig> = {}, token?: string) {
    return createActivities([{ ...this.target, ...overrides }], {
      temporal,
      steeringKeys: TEST_STEERING_KEYS,
      kubeConfigFor: () => this.ns.kubeConfig(token),
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
    this.pods.stop();
    await Promise.all([this.ns.delete(), this.emqx.close()]);
  }

  private flushEmqx(): void {
    for (; this.emqxSeen < this.emqx.requests.length; this.emqxSeen++) {
      const r = this.emqx.requests[this.emqxSeen];
      this.log.push({ src: 'emqx', what: `${r.method} ${r.path}`, body: r.body });
    }
  }

  /** EMQX's side of a pod's life: Ready starts (or restarts) its node, which joins; gone stops it. */
  private cluster(): void {
    const pods = this.pods.items().filter((p) => !p.metadata?.deletionTimestamp);
    const known = new Set(this.emqx.nodeNames());
    for (const pod of pods.filter(isReady)) {
      const node = `emqx@${pod.metadata!.name}`;
      if (this.neverJoins.has(node)) continue;
      if (!known.has(node)) {
        const image = pod.spec?.containers[0]?.image ?? '';
        this.emqx.addNode({ name: node, version: image.split(':')[1]!, connections: 0, sessions: 0 });
        this.log.push({ src: 'kubelet', what: `join ${node}` });
      } else if (this.emqx.node(node).status === 'stopped') {
        this.emqx.startNode(node);
        this.log.push({ src: 'kubelet', what: `restart ${node}` });
      }
    }
    const running = new Set(pods.map((p) => `emqx@${p.metadata!.name}`));
    for (const node of known) {
      if (!running.has(node) && this.emqx.node(node).status === 'running') {
        this.emqx.stopNode(node);
        this.log.push({ src: 'kubelet', what: `stop ${node}` });
      }
    }
  }
}
