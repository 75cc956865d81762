/**
 * A target's releases as they exist, whatever upgrade made them: what its
 * platform runs and what its kind keeps beside (a projection's databases),
 * with owner and share of traffic; and the removal of one that nothing uses,
 * with the undo rules (idempotent; what is not the target's, or serves, is
 * never touched). GET /v1/targets/:target lists them through the
 * targetReleases workflow, the clean-up removes orphans through targetCleanup.
 */
import { mergeReleases, type ReleaseObjects } from '../domain/ownership';
import type { Kind } from '../domain/kindRegistry';
import type { PlatformActivities } from '../domain/platform';

/** What a kind keeps per release beside the platform's workload. */
export interface ReleaseResources {
  /** Those of the target (with their owner), and those of the given releases whatever they record. */
  list(target: string, releases: string[]): Promise<ReleaseObjects[]>;
  /** Removes those of the release that are the target's; what is another's stays, named in `left`. */
  remove(i: { target: string; release: string }): Promise<{ removed: string[]; left: string[] }>;
}

export interface ReleaseActivitiesDeps {
  platform: PlatformActivities;
  kindOf(target: string): Kind;
  resources: Partial<Record<Kind, ReleaseResources>>;
}

export interface RemovedRelease {
  release: string;
  removed: string[];
  /** What stayed because it is not the target's. */
  left: string[];
}

export function createReleaseActivities(deps: ReleaseActivitiesDeps) {
  const resourcesOf = (target: string) => deps.resources[deps.kindOf(target)];
  return {
    async listTargetReleases(i: { target: string }): Promise<ReleaseObjects[]> {
      const releases = await deps.platform.listReleases(i);
      const beside = (await resourcesOf(i.target)?.list(i.target, releases.map((r) => r.name))) ?? [];
      return mergeReleases(releases, beside);
    },

    /**
     * Removes a release nothing uses: its workload (refused if it serves; left
     * if it is not the target's), then what its kind keeps beside it. A retry
     * finds gone what is gone.
     */
    async removeRelease(i: { target: string; release: string; owner: string }): Promise<RemovedRelease> {
      const workload = await deps.platform.deleteWorkload(i);
      const beside = (await resourcesOf(i.target)?.remove(i)) ?? { removed: [], left: [] };
      return {
        release: i.release,
        removed: [...(workload.deleted ? [`workload ${i.release}`] : []), ...beside.removed],
        left: [...(workload.left ? [workload.left] : []), ...beside.left],
      };
    },
  };
}

export type ReleaseActivities = ReturnType<typeof createReleaseActivities>;
