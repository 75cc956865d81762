/** Every activity the worker registers, each module built from the clients and configuration it needs. */
import type { KubeConfig } from '@kubernetes/client-node';
import type { PlatformActivities } from '../domain/platform';
import { targetLookup, type KubernetesPlacement, type TargetConfig } from '../config/targets';
import { createEmqxActivities } from './emqx';
import { createKubernetesActivities } from './kubernetes';

export interface ActivityDeps {
  /** Cluster access per placement; default: its kubeconfig, else in-cluster config or KUBECONFIG. */
  kubeConfigFor?: (placement: KubernetesPlacement) => KubeConfig;
  /** Where secrets are read from; default: the worker's environment. */
  env?: NodeJS.ProcessEnv;
  /** How often long waits poll their system. */
  pollMs?: number;
}

export function createActivities(targets: TargetConfig[], deps: ActivityDeps = {}) {
  const lookup = targetLookup(targets);
  return {
    // the strategies see the platform only through this interface
    ...(createKubernetesActivities({ targets: lookup, kubeConfigFor: deps.kubeConfigFor, pollMs: deps.pollMs }) satisfies PlatformActivities),
    ...createEmqxActivities({ targets: lookup, env: deps.env, pollMs: deps.pollMs }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
