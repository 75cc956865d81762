/** Every activity the worker registers: the platforms', each kind's, analysis and Temporal's own, each built from the clients and configuration it needs. */
import type { Client } from '@temporalio/client';
import type { SteeringKeys } from '../config/steeringKeys';
import { targetLookup, type TargetConfig } from '../config/targets';
import { builtInProviders, createAnalysisActivities, type MeasurementObserver } from './analysis';
import { providerRegistry } from './analysis/provider';
import { createCancelRequestActivities } from './cancelRequest';
import { createNotificationActivities, type NotificationDeps } from './notifications';
import type { KindActivityDeps } from './kindActivityDeps';
import { KIND_ACTIVITIES, KIND_ANALYSIS_PROVIDERS, KIND_RELEASE_RESOURCES } from './kindActivities';
import { createPlatformActivities, type PlatformDeps } from './platforms';
import { createSteeringActivities } from './steering';
import { createReleaseActivities } from './releaseResources';

export type ActivityDeps = Omit<PlatformDeps, 'targets'> &
  Omit<KindActivityDeps, 'targets'> & {
    /** The worker's Temporal client: reads a run's history (who requested its cancellation, who sent a request). */
    temporal: Client;
    /** What the API's steering requests are verified with (the workers' copy of the API's keys). */
    steeringKeys: SteeringKeys;
    /** The Prometheus analysis checks query (the worker's configuration, never a request); unset: no prometheus provider. */
    prometheusUrl?: string;
    /** Told of each analysis measurement as it is taken (the worker's live metrics). */
    onMeasurement?: MeasurementObserver;
    /** The hosts a target's http checks may reach: its policy in the worker's configuration now (default none). */
    httpHosts?: (target: string) => readonly string[];
    /** The sinks notifications go to and the links they carry; unset: none (a delivery fails as misconfigured). */
    notifications?: NotificationDeps;
  };

type KindActivities = { [K in keyof typeof KIND_ACTIVITIES]: ReturnType<(typeof KIND_ACTIVITIES)[K]> }[keyof typeof KIND_ACTIVITIES];
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

export function createActivities(targets: TargetConfig[], deps: ActivityDeps) {
  const lookup = targetLookup(targets);
  const platform = createPlatformActivities({ targets: lookup, kubeConfigFor: deps.kubeConfigFor, sandboxes: deps.sandboxes, pollMs: deps.pollMs });
  const kindDeps = { targets: lookup, env: deps.env, pollMs: deps.pollMs, sandboxes: deps.sandboxes, kubeConfigFor: deps.kubeConfigFor };
  const kinds = Object.values(KIND_ACTIVITIES).map((create) => create(kindDeps, platform));
  const providers = providerRegistry(builtInProviders({ prometheusUrl: deps.prometheusUrl, allowedHosts: deps.httpHosts }), ...Object.values(KIND_ANALYSIS_PROVIDERS).map((create) => create(kindDeps)));
  const resources = Object.fromEntries(Object.entries(KIND_RELEASE_RESOURCES).map(([kind, create]) => [kind, create(kindDeps)]));
  return {
    // the strategies see the platform only through this interface
    ...platform,
    ...createReleaseActivities({ platform, kindOf: (target) => lookup(target).kind, resources }),
    ...(Object.assign({}, ...kinds) as UnionToIntersection<KindActivities>),
    ...createAnalysisActivities({ providers, onMeasurement: deps.onMeasurement }),
    ...createSkeletonActivities(deps.temporal, deps.steeringKeys),
    ...createNotificationActivities(deps.notifications ?? { sinksFor: () => [], env: {}, namespace: deps.temporal.options.namespace }),
  };
}

/** The skeleton's own activities, whatever the kinds: who requested a cancellation, who sent a steering request and whether the API signed it. */
export function createSkeletonActivities(temporal: Client, steeringKeys: SteeringKeys) {
  return { ...createCancelRequestActivities(temporal), ...createSteeringActivities(temporal, steeringKeys) };
}
