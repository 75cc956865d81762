/** Every activity the worker registers, each module built from the clients and configuration it needs. */
import { ApplicationFailure } from '@temporalio/activity';
import type { KubeConfig } from '@kubernetes/client-node';
import type { PlatformActivities } from '../domain/platform';
import { targetLookup, type KubernetesPlacement, type TargetConfig, type TargetLookup } from '../config/targets';
import type { LocalSandbox } from '../sandbox/localSandbox';
import { createEmqxActivities } from './emqx';
import { createKubernetesActivities } from './kubernetes';
import { createLocalPlatformActivities } from './localPlatform';

export interface ActivityDeps {
  /** Cluster access per placement; default: its kubeconfig, else in-cluster config or KUBECONFIG. */
  kubeConfigFor?: (placement: KubernetesPlacement) => KubeConfig;
  /** The local sandboxes this worker runs (npm start), by target. */
  sandboxes?: ReadonlyMap<string, LocalSandbox>;
  /** Where secrets are read from; default: the worker's environment. */
  env?: NodeJS.ProcessEnv;
  /** How often long waits poll their system. */
  pollMs?: number;
}

const PLATFORM_ACTIVITIES = {
  readBlueRelease: true,
  ensureGreenWorkload: true,
  waitWorkloadReady: true,
  switchService: true,
  scaleWorkload: true,
  scaleDownByOne: true,
  deleteWorkload: true,
  listReleasePods: true,
} satisfies Record<keyof PlatformActivities, true>;

/** One set of platform activities for all targets: each call goes to the platform its target is placed on. */
function byPlacement(lookup: TargetLookup, platforms: { kubernetes: PlatformActivities; local: PlatformActivities }): PlatformActivities {
  const platformOf = (target: string): PlatformActivities => {
    try {
      return lookup(target).local ? platforms.local : platforms.kubernetes;
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

export function createActivities(targets: TargetConfig[], deps: ActivityDeps = {}) {
  const lookup = targetLookup(targets);
  return {
    // the strategies see the platform only through this interface
    ...byPlacement(lookup, {
      kubernetes: createKubernetesActivities({ targets: lookup, kubeConfigFor: deps.kubeConfigFor, pollMs: deps.pollMs }) satisfies PlatformActivities,
      local: createLocalPlatformActivities({ targets: lookup, sandboxes: deps.sandboxes ?? new Map(), pollMs: deps.pollMs }) satisfies PlatformActivities,
    }),
    ...createEmqxActivities({ targets: lookup, env: deps.env, pollMs: deps.pollMs }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
