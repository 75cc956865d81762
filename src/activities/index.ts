/** Every activity the worker registers: the platforms' and each kind's, each built from the clients and configuration it needs. */
import { targetLookup, type TargetConfig } from '../config/targets';
import { KIND_ACTIVITIES, type KindActivityDeps } from './kinds';
import { createPlatformActivities, type PlatformDeps } from './platforms';

export type ActivityDeps = Omit<PlatformDeps, 'targets'> & Omit<KindActivityDeps, 'targets'>;

type KindActivities = { [K in keyof typeof KIND_ACTIVITIES]: ReturnType<(typeof KIND_ACTIVITIES)[K]> }[keyof typeof KIND_ACTIVITIES];
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

export function createActivities(targets: TargetConfig[], deps: ActivityDeps = {}) {
  const lookup = targetLookup(targets);
  const kinds = Object.values(KIND_ACTIVITIES).map((create) => create({ targets: lookup, env: deps.env, pollMs: deps.pollMs }));
  return {
    // the strategies see the platform only through this interface
    ...createPlatformActivities({ targets: lookup, kubeConfigFor: deps.kubeConfigFor, sandboxes: deps.sandboxes, pollMs: deps.pollMs }),
    ...(Object.assign({}, ...kinds) as UnionToIntersection<KindActivities>),
  };
}

export type Activities = ReturnType<typeof createActivities>;
