/**
 * The test control plane's kubelet for Kong nodes, a stand-in at the network
 * edge only: a Running pod the selector picks, with a pod IP (a loopback one
 * on LOOPBACK_NODE), gets a sandbox gateway process of its image's version
 * listening at that IP on the target's node ports, with the pod's KONG_PG_*
 * environment (secrets resolved); a pod that is deleted or gone has its
 * process stopped. So the activities reach a release's nodes where Kubernetes
 * says they are.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { startGatewayNode, type GatewayNode } from '../../src/sandbox/kong/launcher';
import { freePort } from '../../src/runtime/freePort';
import { containerEnv, imageVersion, kongDatabaseOf } from './podEnv';

export class GatewayKubelet {
  private readonly nodes = new Map<string, { pod: string; node: Promise<GatewayNode | undefined> }>();
  private readonly core: CoreV1Api;
  private timer?: NodeJS.Timeout;
  private adminPort?: number;
  readonly errors: Error[] = [];

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly labelSelector: string,
    private readonly ports: { proxy: number; status: number },
    private readonly logDir: string,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  start(pollMs = 100): this {
    const tick = async (): Promise<void> => {
      await this.sync().catch((err: Error) => void this.errors.push(err));
      if (this.timer) this.timer = setTimeout(() => void tick(), pollMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
    return this;
  }

  /** The gateway processes running now, by pod name. */
  async running(): Promise<{ pod: string; node: GatewayNode }[]> {
    const all = await Promise.all([...this.nodes.values()].map(async (n) => ({ pod: n.pod, node: await n.node })));
    return all.filter((n): n is { pod: string; node: GatewayNode } => !!n.node);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([...this.nodes.keys()].map((uid) => this.stopNode(uid)));
  }

  private async sync(): Promise<void> {
    const pods = (await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: this.labelSelector })).items;
    const live = new Map(pods.filter((p) => p.status?.phase === 'Running' && p.status.podIP && !p.metadata?.deletionTimestamp).map((p) => [p.metadata!.uid!, p]));
    for (const uid of this.nodes.keys()) if (!live.has(uid)) await this.stopNode(uid);
    for (const [uid, pod] of live) if (!this.nodes.has(uid)) this.nodes.set(uid, { pod: pod.metadata!.name!, node: this.startNode(pod) });
  }

  private async startNode(pod: V1Pod): Promise<GatewayNode | undefined> {
    const container = pod.spec!.containers[0];
    try {
      const env = await containerEnv(this.core, this.namespace, container.env ?? []);
      // the Admin API is not what the activities use; one port for every node, as a Deployment's pods share their ports
      this.adminPort ??= await freePort();
      return await startGatewayNode({
        name: pod.metadata!.name!,
        version: imageVersion(container.image!),
        db: kongDatabaseOf(env),
        logDir: this.logDir,
        host: pod.status!.podIP!,
        proxyPort: this.ports.proxy,
        adminPort: this.adminPort,
        statusPort: this.ports.status,
        dbUpdateFrequencyMs: 200,
      });
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
