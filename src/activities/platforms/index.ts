/** The platform activities for every target: each call goes to the platform its target is placed on. */
import { ApplicationFailure } from '@temporalio/activity';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesPlacement, TargetLookup } from '../../config/targets';
import type { LocalWorkloads, PlatformActivities } from '../../domain/platform';
import { createKubernetesActivities } from './kubernetes';
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

const PLATFORM_ACTIVITIES = {
  readBlueRelease: true,
  ensureGreenWorkload: true,
  waitWorkloadReady: true,
  setWeights: true,
  scaleWorkload: true,
  scaleDownByOne: true,
  deleteWorkload: true,
  listReleasePods: true,
  listReleases: true,
} satisfies Record<keyof PlatformActivities, true>;

export function createPlatformActivities(deps: PlatformDeps): PlatformActivities {
  const platforms = {
    kubernetes: createKubernetesActivities({ targets: deps.targets, kubeConfigFor: deps.kubeConfigFor }) satisfies PlatformActivities,
    local: createLocalPlatformActivities({ targets: deps.targets, sandboxes: deps.sandboxes ?? new Map(), pollMs: deps.pollMs }) satisfies PlatformActivities,
  };
  const platformOf = (target: string): PlatformActivities => {
    try {
      return deps.targets(target).local ? platforms.local : platforms.kubernetes;
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'Misconfigured');
    }
  };
  const entries = (Object.keys(PLATFORM_ACTIVITIES) as (keyof PlatformActivities)[]).map((name) => [
    name,
    (input: { target: string }) => (platformOf(input.target)[name] as (i: { target: string }) => Promise<unknown>)(input),
  ]);
  return Object.fromEntries(entries) as PlatformActivities;
}
