/**
 * The test control plane's kubelet for pods whose container is a sandbox
 * process, a stand-in at the network edge only: a Running pod the selector
 * picks, with a pod IP (a loopback one on LOOPBACK_NODE), gets the process
 * `run` starts for it, with the pod's environment (secrets resolved); a pod
 * that is deleted or gone has its process stopped. So what cutover reaches at
 * a release's pods is where Kubernetes says they are.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { containerEnv } from './podEnv';

export interface PodProcess {
  stop(): Promise<void>;
}

/** Starts a pod's process: the pod, and its first container's environment as the container gets it. */
export type RunPod<N extends PodProcess> = (pod: V1Pod, env: Record<string, string>) => Promise<N>;

export class PodKubelet<N extends PodProcess> {
  private readonly nodes = new Map<string, { pod: string; node: Promise<N | undefined> }>();
  private readonly core: CoreV1Api;
  private timer?: NodeJS.Timeout;
  private syncing: Promise<void> = Promise.resolve();
  readonly errors: Error[] = [];

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly labelSelector: string,
    private readonly run: RunPod<N>,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  start(pollMs = 100): this {
    const tick = async (): Promise<void> => {
      this.syncing = this.sync().catch((err: Error) => void this.errors.push(err));
      await this.syncing;
      if (this.timer) this.timer = setTimeout(() => void tick(), pollMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
    return this;
  }

  /** The processes running now, by pod name. */
  async running(): Promise<{ pod: string; node: N }[]> {
    const all = await Promise.all([...this.nodes.values()].map(async (n) => ({ pod: n.pod, node: await n.node })));
    return all.filter((n): n is { pod: string; node: N } => !!n.node);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // a sync under way would start again what is stopped here
    await this.syncing;
    await Promise.all([...this.nodes.keys()].map((uid) => this.stopNode(uid)));
  }

  private async sync(): Promise<void> {
    const pods = (await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: this.labelSelector })).items;
    const live = new Map(pods.filter((p) => p.status?.phase === 'Running' && p.status.podIP && !p.metadata?.deletionTimestamp).map((p) => [p.metadata!.uid!, p]));
    for (const uid of this.nodes.keys()) if (!live.has(uid)) await this.stopNode(uid);
    for (const [uid, pod] of live) if (!this.nodes.has(uid)) this.nodes.set(uid, { pod: pod.metadata!.name!, node: this.startNode(pod) });
  }

  private async startNode(pod: V1Pod): Promise<N | undefined> {
    try {
      return await this.run(pod, await containerEnv(this.core, this.namespace, pod.spec!.containers[0]));
    } catch (err) {
      this.errors.push(err as Error);
      return undefined;
    }
  }

  private async stopNode(uid: string): Promise<void> {
    const entry = this.nodes.get(uid);
    this.nodes.delete(uid);
    await (await entry?.node)?.stop();
  }
}
