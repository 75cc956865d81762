/**
 * setWeights, the one activity through which the skeleton and the strategies
 * move traffic: it finds the target's router (on Kubernetes the one its
 * configuration names, src/activities/routers/kubernetes/; locally the
 * sandbox's nginx, which the runtime hands in), writes the weights, and
 * verifies them by what the router serves, read back from it.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { LocalWorkloads } from '../../domain/platform';
import { disagreement, positive, shares, weightsProblem, type ReleaseWeights, type SetWeightsResult, type TrafficActivities, type TrafficRouter } from '../../domain/router';
import { kubernetesClusters, type Clusters, type ClustersDeps } from '../platforms/kubernetes/client';
import { sandboxRouter } from '../platforms/local';
import { clusterRouter } from './kubernetes';

export interface RouterDeps extends ClustersDeps {
  /** Shared with the platform's workloads, so both use one client per cluster; default: the factory's own. */
  clusters?: Clusters;
  /** The local sandboxes this worker runs (npm start), by target. */
  sandboxes?: ReadonlyMap<string, LocalWorkloads>;
}

export function createRouterActivities(deps: RouterDeps): TrafficActivities {
  const clusters = deps.clusters ?? kubernetesClusters(deps);
  const sandboxes = { targets: deps.targets, sandboxes: deps.sandboxes ?? new Map<string, LocalWorkloads>() };

  function routerOf(target: string): TrafficRouter {
    let local: boolean;
    try {
      local = !!deps.targets(target).local;
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'Misconfigured');
    }
    return local ? sandboxRouter(sandboxes, target) : clusterRouter(clusters(target));
  }

  return {
    /**
     * Writes the weights through the target's router, then checks what it
     * serves: a router that, read back, serves anything else (a concurrent
     * edit, an admission webhook that rewrote the object, an nginx that did
     * not take the config) fails the attempt, and Temporal tries again.
     */
    async setWeights(input: { target: string; weights: ReleaseWeights; owner?: string }): Promise<SetWeightsResult> {
      const problem = weightsProblem(input.weights);
      if (problem) throw ApplicationFailure.nonRetryable(problem, 'Invalid');
      const router = routerOf(input.target);
      const asked = positive(input.weights);
      const { changed, served } = await router.write(asked, input.owner);
      const differs = disagreement(asked, served);
      if (differs) throw ApplicationFailure.retryable(`${router.name}, read back after the write: ${differs}`, 'RouterDisagrees');
      return { changed, served: shares(served.weights), ...(served.readiness ? { readiness: served.readiness } : {}) };
    },
  };
}
