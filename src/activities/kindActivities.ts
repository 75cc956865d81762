/**
 * Each kind's activities, by kind: a kind without its activities fails the
 * type check. A kind's activity may wait on its workload through the
 * platform's activities, then on its system, in one call.
 */
import type { Kind } from '../domain/kindRegistry';
import type { WorkloadActivities } from '../domain/platform';
import type { AnalysisProviders } from './analysis/provider';
import { createEmqxActivities } from './emqx';
import { createGreenJoinedActivities } from './emqx/greenJoined';
import { createProjectionActivities, projectionAccess, projectionReleaseResources } from './projection';
import { createKongActivities } from './kong';
import { kongAnalysisProviders } from './kong/analysisProvider';
import type { KindActivityDeps } from './kindActivityDeps';
import type { ReleaseResources } from './releaseResources';
import { targetAccess } from './targetAccess';

export const KIND_ACTIVITIES = {
  emqx: (deps: KindActivityDeps, platform: WorkloadActivities) => {
    const emqx = createEmqxActivities(deps);
    return { ...emqx, ...createGreenJoinedActivities(platform, emqx) };
  },
  projection: (deps: KindActivityDeps) => createProjectionActivities({ access: projectionAccess(targetAccess(deps)), pollMs: deps.pollMs }),
  kong: createKongActivities,
} satisfies Record<Kind, (deps: KindActivityDeps, platform: WorkloadActivities) => object>;

/** Analysis providers a kind adds to prometheus and http (e.g. Kong's gateway counters), by kind. */
export const KIND_ANALYSIS_PROVIDERS: Partial<Record<Kind, (deps: KindActivityDeps) => AnalysisProviders>> = {
  kong: kongAnalysisProviders,
};

/** What a kind keeps per release beside its workload (a projection's database and role), by kind: listed and removed with the release. */
export const KIND_RELEASE_RESOURCES: Partial<Record<Kind, (deps: KindActivityDeps) => ReleaseResources>> = {
  projection: (deps) => projectionReleaseResources(projectionAccess(targetAccess(deps))),
};
