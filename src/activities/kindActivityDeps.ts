/** What a kind's activities are built from: the worker's targets, secrets, clusters and local sandboxes. */
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesPlacement, TargetLookup } from '../config/targets';
import type { LocalWorkloads } from '../domain/platform';

export interface KindActivityDeps {
  targets: TargetLookup;
  /** Where secrets are read from; default: the worker's environment. */
  env?: NodeJS.ProcessEnv;
  /** How often long waits poll their system. */
  pollMs?: number;
  /** The local sandboxes this worker runs, by target (a kind's activities use their kindPort). */
  sandboxes?: ReadonlyMap<string, LocalWorkloads>;
  kubeConfigFor?: (placement: KubernetesPlacement) => KubeConfig;
}
