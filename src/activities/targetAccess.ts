/**
 * How every kind's activities reach a target, resolved when an activity
 * runs, so no endpoint or secret ever enters workflow input or history: the
 * target's configuration, its `<kind>:` block, the secrets that block names
 * (read from the worker's environment), and where its workloads run (a local
 * sandbox this worker runs, or a Kubernetes placement). What the worker's
 * configuration lacks is Misconfigured: retrying cannot mend it.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { readSecret, type KubernetesPlacement, type TargetConfig, type TargetLookup } from '../config/targets';
import { kindModule, type Kind } from '../domain/kindRegistry';
import type { LocalWorkloads } from '../domain/platform';
import type { SecretRef } from '../domain/schemas';

export interface TargetAccessDeps {
  targets: TargetLookup;
  /** Where secrets are read from; default: the worker's environment. */
  env?: NodeJS.ProcessEnv;
  /** The local sandboxes this worker runs, by target. */
  sandboxes?: ReadonlyMap<string, LocalWorkloads>;
}

/** Where a target's workloads run. */
export type Placement = { local: LocalWorkloads } | { kubernetes: KubernetesPlacement };

/** Runs fn; what it throws is the configuration's fault (a Misconfigured failure), unless it already says otherwise. */
function misconfigured<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw ApplicationFailure.nonRetryable((err as Error).message, 'Misconfigured');
  }
}

export function targetAccess(deps: TargetAccessDeps) {
  const config = (target: string): TargetConfig => misconfigured(() => deps.targets(target));

  return {
    config,

    /** The target's `<kind>:` block, its secrets still references (read them with secret). */
    block<K extends Kind>(target: string, kind: K): NonNullable<TargetConfig[K]> {
      const block = config(target)[kind];
      if (block) return block as NonNullable<TargetConfig[K]>;
      const fields: string[] = kindModule(kind).access.required ?? [];
      throw ApplicationFailure.nonRetryable(`target '${target}' has no ${kind} section (${fields.join(', ')}) in the worker's configuration`, 'Misconfigured');
    },

    /** A secret a block names, from the worker's environment. */
    secret: (ref: SecretRef): string => misconfigured(() => readSecret(ref, deps.env)),

    placement(target: string): Placement {
      const t = config(target);
      if (t.local) {
        const local = deps.sandboxes?.get(target);
        if (!local) throw ApplicationFailure.nonRetryable(`target '${target}' is a local sandbox not run by this worker (only the worker of npm start runs it)`, 'Misconfigured');
        return { local };
      }
      if (!t.kubernetes) throw ApplicationFailure.nonRetryable(`target '${target}' has no placement`, 'Misconfigured');
      return { kubernetes: t.kubernetes };
    },
  };
}

export type TargetAccess = ReturnType<typeof targetAccess>;
