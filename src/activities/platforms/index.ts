/**
 * The platform activities for every target: each workload call goes to the
 * platform its target is placed on, and setWeights to its router
 * (src/activities/routers/). One Kubernetes client per cluster serves both.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesPlacement, TargetLookup } from '../../config/targets';
import type { LocalWorkloads, PlatformActivities, WorkloadActivities } from '../../domain/platform';
import { createRouterActivities } from '../routers';
import { kubernetesClusters } from './kubernetes/client';
import { createKubernetesActivities } from './kubernetes/workloads';
import { createLocalPlatformActivities } from './local';

export interface PlatformDeps {
  targets: TargetLookup;
  /** Cluster access per placement; default: its kubeconfig, else in-cluster config or KUBECONFIG. */
  kubeConfigFor?: (placement: KubernetesPlacement) => KubeConfig;
  /** The local sandboxes this worker runs (npm start), by target. */
  sandboxes?: ReadonlyMap<string, LocalWorkloads>;
  /** How often the local platform's waits poll its sandbox. */
  pollMs?: number;
}

const WORKLOAD_ACTIVITIES = {
  readBlueRelease: true,
  ensureGreenWorkload: true,
  waitWorkloadReady: true,
  scaleWorkload: true,
  scaleDownByOne: true,
  deleteWorkload: true,
  listReleasePods: true,
  listReleases: true,
} satisfies Record<keyof WorkloadActivities, true>;

export function createPlatformActivities(deps: PlatformDeps): PlatformActivities {
  const clusters = kubernetesClusters(deps);
  const sandboxes = deps.sandboxes ?? new Map<string, LocalWorkloads>();
  const platforms = {
    kubernetes: createKubernetesActivities({ targets: deps.targets, clusters }) satisfies WorkloadActivities,
    local: createLocalPlatformActivities({ targets: deps.targets, sandboxes, pollMs: deps.pollMs }) satisfies WorkloadActivities,
  };
  const platformOf = (target: string): WorkloadActivities => {
    try {
      return deps.targets(target).local ? platforms.local : platforms.kubernetes;
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'Misconfigured');
    }
  };
  const entries = (Object.keys(WORKLOAD_ACTIVITIES) as (keyof WorkloadActivities)[]).map((name) => [
    name,
    (input: { target: string }) => (platformOf(input.target)[name] as (i: { target: string }) => Promise<unknown>)(input),
  ]);
  return { ...(Object.fromEntries(entries) as WorkloadActivities), ...createRouterActivities({ targets: deps.targets, clusters, sandboxes }) };
}
