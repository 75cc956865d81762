/**
 * A router of a target on Kubernetes, as the platform's workloads see it:
 * the port (src/domain/router.ts) and, for a router that weights one
 * Service per release, those Services, which live and die with their
 * releases.
 */
import type { Workload } from '../../../domain/kubernetes';
import type { TrafficRouter } from '../../../domain/router';

/** What a router keeps beside each release's workload. */
export interface PerReleaseObjects {
  /** Before deployGreen changes anything: what green would get that is not the target's is a clash, and blue's must be adoptable. */
  check(blue: Workload, green: string, owner: string): Promise<void>;
  /** Once green exists: the objects of blue (adopted) and green, with the owner's marks. */
  ensure(blue: Workload, green: Workload, owner?: string): Promise<void>;
  /** With its release's workload: gone already is done; with an owner, what is not the target's stays. */
  remove(release: string, owner?: string): Promise<void>;
  /** Those that exist, for the target's view (`Service cutover-…`). */
  list(release: string): Promise<string[]>;
}

export interface ClusterRouter extends TrafficRouter {
  readonly perRelease?: PerReleaseObjects;
}
