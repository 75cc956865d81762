/**
 * Green from its pods' readiness to nodes that may get traffic, in one
 * activity on the worker: the platform's readiness wait (by watch on
 * Kubernetes; blue's node names listed meanwhile), green's node names, green's
 * nodes joined, and the whole cluster's health from the reading that found
 * them joined. Called as five activities, each a
 * workflow task and an activity task apart, the same checks made the switch
 * four times slower than the watch.
 */
import type { ClusterHealth } from '../../domain/emqx/cluster';
import type { WorkloadActivities } from '../../domain/platform';
import type { EmqxActivities } from '.';

export interface GreenJoined {
  greenNodes: string[];
  blueNodes: string[];
  /** Blue's and green's nodes, read once green's had joined: what verify checks. */
  health: ClusterHealth;
}

export function createGreenJoinedActivities(platform: Pick<WorkloadActivities, 'waitWorkloadReady' | 'listReleasePods'>, emqx: Pick<EmqxActivities, 'emqxNodeNames' | 'waitClusterJoined'>) {
  const nodesOf = async (target: string, release: string): Promise<string[]> => {
    const pods = await platform.listReleasePods({ target, release });
    // A replicant's node is named after its pod's IP (the EMQX Operator's emqx@<pod IP>).
    return emqx.emqxNodeNames({ target, pods: pods.map((p) => ({ name: p.name, ip: p.ip })) });
  };

  return {
    /**
     * Heartbeats what it waits for (the pods, then the nodes to join); a node
     * that never joins keeps it waiting until the step's time limit, so it
     * never gets traffic (emqx-operator #941). Reads only: safe to retry.
     */
    async waitGreenJoined(input: { target: string; green: string; blue: string }): Promise<GreenJoined> {
      const { target } = input;
      // blue serves unchanged meanwhile: its nodes are listed while green's pods get ready
      const blue = nodesOf(target, input.blue);
      blue.catch(() => undefined);
      await platform.waitWorkloadReady({ target, release: input.green });
      const [greenNodes, blueNodes] = await Promise.all([nodesOf(target, input.green), blue]);
      const health = await emqx.waitClusterJoined({ target, nodes: greenNodes, healthOf: [...blueNodes, ...greenNodes] });
      return { greenNodes, blueNodes, health };
    },
  };
}

export type GreenJoinedActivities = ReturnType<typeof createGreenJoinedActivities>;
