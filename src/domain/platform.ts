/**
 * What a strategy asks of the platform its workloads run on, and of the
 * router in front of them. Kubernetes implements the workloads with
 * @kubernetes/client-node; the local sandbox with processes. The router is
 * the target's own (src/domain/router.ts). Strategies never know which ones
 * they drive.
 */
import type { OwnedCall, Owner, ReleaseObjects } from './ownership';
import type { TrafficActivities, TrafficRouter } from './router';
import type { ReleaseRef } from './upgrade';

export interface BlueWorkload extends ReleaseRef {
  image: string;
  replicas: number;
  /** Kubernetes: the workload's kind and name. */
  workload?: { kind: 'StatefulSet' | 'Deployment'; name: string };
  /** The literal values, on the application container, of the environment variables readBlueRelease was asked for (never secrets: a strategy names them). */
  env?: Record<string, string>;
}

export interface PodInfo {
  name: string;
  ready: boolean;
  ip?: string;
}

/** The workload's life on its platform: read blue, create green, wait for it, scale, remove, list. */
export interface WorkloadActivities {
  /** The release the target's Service sends traffic to now; refused if it carries another target's mark. */
  readBlueRelease(i: { target: string; env?: string[] }): Promise<BlueWorkload>;
  /**
   * Create green beside blue (or patch its image if it exists with another
   * one), `env` set on its application container; with an owner, first adopt
   * blue as the target's serving release.
   */
  ensureGreenWorkload(i: OwnedCall & { green: ReleaseRef; image?: string; replicas?: number; env?: Record<string, string> }): Promise<unknown>;
  /** Heartbeats until every replica is ready; the workflow limits how long. */
  waitWorkloadReady(i: { target: string; release: string }): Promise<unknown>;
  scaleWorkload(i: OwnedCall & { release: string; replicas: number }): Promise<{ changed: boolean }>;
  /** Scales to expectedReplicas - 1 only if it is at expectedReplicas now: a retry never removes two. */
  scaleDownByOne(i: OwnedCall & { release: string; expectedReplicas: number }): Promise<unknown>;
  /** Gone already: done. With an owner, what is not the target's is left alone (said in the result), and a release that serves is refused. */
  deleteWorkload(i: OwnedCall & { release: string }): Promise<{ deleted: boolean; left?: string }>;
  listReleasePods(i: { target: string; release: string }): Promise<PodInfo[]>;
  /** Every release of the target on the platform (the target's marks, its configured first release, what serves), with owner and weight. */
  listReleases(i: { target: string }): Promise<ReleaseObjects[]>;
}

/** What a strategy asks of the platform: its workloads, and traffic through the target's router (src/domain/router.ts). */
export interface PlatformActivities extends WorkloadActivities, TrafficActivities {}

/** What the local platform records of one release of a local target. */
export interface LocalRelease {
  version: string;
  replicas: number;
  /** Ports per ordinal, by name (the kind's localPorts); kept when scaled down, so a node that comes back gets its own. */
  ports: Record<string, number>[];
  /** Who made it: an upgrade of the target, or (no upgrade) the sandbox's first start from the configuration. Absent in state files written before ownership: the target's. */
  owner?: Owner;
}

/** A local target's desired state, recorded before processes change (see src/sandbox/localSandbox.ts). */
export interface LocalState {
  /** The release that gets all traffic when no split runs. */
  service: string;
  /** During a weighted split: weight by release (summing to 100); absent otherwise. */
  weights?: Record<string, number>;
  releases: Record<string, LocalRelease>;
}

/**
 * The port through which the local platform drives one local target: the
 * runtime hands these in (a sandbox implements it), so activities never
 * import the sandbox. Changes are serialised and recorded before applied.
 */
export interface LocalWorkloads {
  readonly target: string;
  /** The image a version stands for, e.g. cutover/sandbox-emqx:5.8.0. */
  imageOf(version: string): string;
  read<T>(fn: (s: LocalState) => T): Promise<T>;
  change<T>(fn: (s: LocalState) => T): Promise<T>;
  /** Restarts nodes that died, as a controller would. */
  heal(): Promise<void>;
  /** Pods of a release in ordinal order; ready while its node process runs and answers. */
  pods(release: string): { name: string; ready: boolean }[];
  /**
   * What the kind's stand-in offers the kind's own activities (Kong: its
   * migrations runner and node addresses), if anything. The generic port
   * cannot know its type: the kind that reads it checks it (isLocalKong).
   */
  readonly kindPort?: unknown;
  /** The router in front of its releases (its nginx upstream), which follows the recorded service and weights at every change. */
  readonly router: TrafficRouter;
}
