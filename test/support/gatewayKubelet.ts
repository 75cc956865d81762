/**
 * The test kubelet for Kong nodes: each Running pod the selector picks gets a
 * sandbox gateway process of its image's version listening at its pod IP on
 * the target's node ports, with the pod's KONG_PG_* environment.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { startGatewayNode, type GatewayNode } from '../../src/sandbox/kong/launcher';
import { freePort } from '../../src/runtime/freePort';
import { imageVersion, kongDatabaseOf } from './podEnv';
import { PodKubelet } from './podKubelet';

export class GatewayKubelet extends PodKubelet<GatewayNode> {
  constructor(kc: KubeConfig, namespace: string, labelSelector: string, ports: { proxy: number; status: number }, logDir: string) {
    let adminPort: number | undefined;
    super(kc, namespace, labelSelector, async (pod, env) => {
      const container = pod.spec!.containers[0];
      // the Admin API is not what the activities use; one port for every node, as a Deployment's pods share their ports
      adminPort ??= await freePort();
      return startGatewayNode({
        name: pod.metadata!.name!,
        version: imageVersion(container.image!),
        db: kongDatabaseOf(env),
        logDir,
        host: pod.status!.podIP!,
        proxyPort: ports.proxy,
        adminPort,
        statusPort: ports.status,
        dbUpdateFrequencyMs: 200,
      });
    });
  }
}
