/** Each kind's activities, by kind: a kind without its activities fails the type check. */
import type { TargetLookup } from '../config/targets';
import type { Kind } from '../domain/kinds';
import { createEmqxActivities } from './emqx';

export interface KindActivityDeps {
  targets: TargetLookup;
  /** Where secrets are read from; default: the worker's environment. */
  env?: NodeJS.ProcessEnv;
  /** How often long waits poll their system. */
  pollMs?: number;
}

export const KIND_ACTIVITIES = {
  emqx: createEmqxActivities,
} satisfies Record<Kind, (deps: KindActivityDeps) => object>;
