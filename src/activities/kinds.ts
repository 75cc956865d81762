/** Each kind's activities, by kind: a kind without its activities fails the type check. */
import type { TargetLookup } from '../config/targets';
import type { Kind } from '../domain/kinds';
import type { AnalysisProviders } from './analysis/provider';
import { createEmqxActivities } from './emqx';
import { createProjectionActivities } from './projection';
import { projectionAccess } from './projection/access';

export interface KindActivityDeps {
  targets: TargetLookup;
  /** Where secrets are read from; default: the worker's environment. */
  env?: NodeJS.ProcessEnv;
  /** How often long waits poll their system. */
  pollMs?: number;
}

export const KIND_ACTIVITIES = {
  emqx: createEmqxActivities,
  projection: (deps: KindActivityDeps) => createProjectionActivities({ access: projectionAccess(deps.targets, deps.env), pollMs: deps.pollMs }),
} satisfies Record<Kind, (deps: KindActivityDeps) => object>;

/** Analysis providers a kind adds to prometheus and http (e.g. Kong's gateway counters), by kind. */
export const KIND_ANALYSIS_PROVIDERS: Partial<Record<Kind, (deps: KindActivityDeps) => AnalysisProviders>> = {};
