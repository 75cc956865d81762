/** Every activity the worker registers: the platforms', each kind's, analysis and Temporal's own, each built from the clients and configuration it needs. */
import type { Client } from '@temporalio/client';
import { targetLookup, type TargetConfig } from '../config/targets';
import { builtInProviders, createAnalysisActivities, type MeasurementObserver } from './analysis';
import { providerRegistry } from './analysis/provider';
import { createCancelRequestActivities } from './cancelRequest';
import { KIND_ACTIVITIES, KIND_ANALYSIS_PROVIDERS, type KindActivityDeps } from './kinds';
import { createPlatformActivities, type PlatformDeps } from './platforms';

export type ActivityDeps = Omit<PlatformDeps, 'targets'> &
  Omit<KindActivityDeps, 'targets'> & {
    /** The worker's Temporal client: reads a run's history (who requested its cancellation). */
    temporal: Client;
    /** The Prometheus analysis checks query (the worker's configuration, never a request); unset: no prometheus provider. */
    prometheusUrl?: string;
    /** Told of each analysis measurement as it is taken (the worker's live metrics). */
    onMeasurement?: MeasurementObserver;
    /** The hosts a target's http checks may reach: its policy in the worker's configuration now (default none). */
    httpHosts?: (target: string) => readonly string[];
  };

type KindActivities = { [K in keyof typeof KIND_ACTIVITIES]: ReturnType<(typeof KIND_ACTIVITIES)[K]> }[keyof typeof KIND_ACTIVITIES];
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

export function createActivities(targets: TargetConfig[], deps: ActivityDeps) {
  const lookup = targetLookup(targets);
  const kindDeps = { targets: lookup, env: deps.env, pollMs: deps.pollMs, sandboxes: deps.sandboxes, kubeConfigFor: deps.kubeConfigFor };
  const kinds = Object.values(KIND_ACTIVITIES).map((create) => create(kindDeps));
  const providers = providerRegistry(builtInProviders({ prometheusUrl: deps.prometheusUrl, allowedHosts: deps.httpHosts }), ...Object.values(KIND_ANALYSIS_PROVIDERS).map((create) => create(kindDeps)));
  return {
    // the strategies see the platform only through this interface
    ...createPlatformActivities({ targets: lookup, kubeConfigFor: deps.kubeConfigFor, sandboxes: deps.sandboxes, pollMs: deps.pollMs }),
    ...(Object.assign({}, ...kinds) as UnionToIntersection<KindActivities>),
    ...createAnalysisActivities({ providers, onMeasurement: deps.onMeasurement }),
    ...createCancelRequestActivities(deps.temporal),
  };
}

export type Activities = ReturnType<typeof createActivities>;
