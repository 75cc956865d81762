/**
 * An EMQX cluster on Kubernetes for workflow tests: the suite's Kubernetes
 * API server and EMQX API server, tied together as a kubelet would — a pod
 * that becomes Ready starts its EMQX node (which joins the cluster), a pod
 * that goes away stops it. Every request to either is kept in one log, in
 * the order it arrived.
 */
import type { TargetConfig } from '../../src/config/targets';
import { createActivities } from '../../src/activities';
import { EmqxApiServer } from './emqxApiServer';
import { KubeApiServer, seedBlue } from './kubeApiServer';

export interface LogEntry {
  src: 'k8s' | 'emqx' | 'kubelet';
  what: string;
  body?: unknown;
}

export class EmqxOnKube {
  readonly log: LogEntry[] = [];
  private emqxSeen = 0;
  private readonly timer: NodeJS.Timeout;
  /** A node that never joins, to model a pod that is Ready but outside the cluster (emqx-operator #941). */
  readonly neverJoins = new Set<string>();

  private constructor(
    readonly k8s: KubeApiServer,
    readonly emqx: EmqxApiServer,
    readonly target: TargetConfig,
  ) {
    k8s.beforeHandling((r) => {
      this.flushEmqx();
      this.log.push({ src: 'k8s', what: `${r.method} ${r.path}`, body: r.body });
    });
    this.timer = setInterval(() => this.kubelet(), 10);
  }

  static async start(name: string, opts: { blueVersion?: string; replicas?: number; connections?: number; tickMs?: number } = {}): Promise<EmqxOnKube> {
    const replicas = opts.replicas ?? 3;
    const version = opts.blueVersion ?? '5.7.0';
    const k8s = await KubeApiServer.start({ readyAfterMs: 50 });
    seedBlue(k8s, { namespace: 'mqtt', kind: 'StatefulSet', name: 'emqx', image: `emqx/emqx:${version}`, replicas, service: 'emqx' });
    const emqx = await EmqxApiServer.start({
      nodes: Array.from({ length: replicas }, (_, i) => ({ name: `emqx@emqx-${i}`, version, connections: opts.connections ?? 300 })),
      tickMs: opts.tickMs ?? 5,
    });
    const target: TargetConfig = {
      name,
      kind: 'emqx',
      kubernetes: { namespace: 'mqtt', workload: { kind: 'StatefulSet', name: 'emqx' }, service: 'emqx', pvcPolicy: 'delete' },
      emqx: { apiUrl: emqx.url, apiKey: { env: 'TEST_EMQX_KEY' }, apiSecret: { env: 'TEST_EMQX_SECRET' }, nodeName: 'emqx@{pod}' },
    };
    return new EmqxOnKube(k8s, emqx, target);
  }

  activities(overrides: Partial<TargetConfig> = {}) {
    return createActivities([{ ...this.target, ...overrides }], {
      kubeConfigFor: () => this.k8s.kubeConfig(),
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

  serviceSelector(): Record<string, string> {
    return (this.k8s.get('Service', 'mqtt', 'emqx')?.spec?.selector ?? {}) as Record<string, string>;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.k8s.close(), this.emqx.close()]);
  }

  private flushEmqx(): void {
    for (; this.emqxSeen < this.emqx.requests.length; this.emqxSeen++) {
      const r = this.emqx.requests[this.emqxSeen];
      this.log.push({ src: 'emqx', what: `${r.method} ${r.path}`, body: r.body });
    }
  }

  private kubelet(): void {
    const pods = this.k8s.list('Pod', 'mqtt');
    const known = new Set(this.emqx.nodeNames());
    for (const pod of pods) {
      const node = `emqx@${pod.metadata.name}`;
      const ready = ((pod.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready && !this.neverJoins.has(node)) {
        const image = (pod.spec?.containers as { image: string }[] | undefined)?.[0]?.image ?? '';
        if (!known.has(node)) {
          this.emqx.addNode({ name: node, version: image.split(':')[1], connections: 0, sessions: 0 });
          this.log.push({ src: 'kubelet', what: `join ${node}` });
        } else if (this.emqx.node(node).status === 'stopped') {
          this.emqx.startNode(node);
          this.log.push({ src: 'kubelet', what: `restart ${node}` });
        }
      }
    }
    const podNames = new Set(pods.map((p) => `emqx@${p.metadata.name}`));
    for (const node of known) {
      if (!podNames.has(node) && this.emqx.node(node).status === 'running') {
        this.emqx.stopNode(node);
        this.log.push({ src: 'kubelet', what: `stop ${node}` });
      }
    }
  }
}
