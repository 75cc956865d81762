/**
 * What a strategy asks of the platform its workloads run on. Kubernetes
 * implements it with @kubernetes/client-node; the local sandbox with
 * processes and nginx. Strategies never know which one they drive.
 */
import type { ReleaseRef } from './upgrade';

export interface BlueWorkload extends ReleaseRef {
  image: string;
  replicas: number;
}

export interface PodInfo {
  name: string;
  ready: boolean;
  ip?: string;
}

export interface PlatformActivities {
  /** The release the target's Service sends traffic to now. */
  readBlueRelease(i: { target: string }): Promise<BlueWorkload>;
  /** Create green beside blue (or patch its image if it exists with another one). */
  ensureGreenWorkload(i: { target: string; green: ReleaseRef; image?: string; replicas?: number }): Promise<unknown>;
  /** Heartbeats until every replica is ready; the workflow limits how long. */
  waitWorkloadReady(i: { target: string; release: string }): Promise<unknown>;
  switchService(i: { target: string; release: string }): Promise<unknown>;
  scaleWorkload(i: { target: string; release: string; replicas: number }): Promise<unknown>;
  /** Scales to expectedReplicas - 1 only if it is at expectedReplicas now: a retry never removes two. */
  scaleDownByOne(i: { target: string; release: string; expectedReplicas: number }): Promise<unknown>;
  deleteWorkload(i: { target: string; release: string }): Promise<unknown>;
  listReleasePods(i: { target: string; release: string }): Promise<PodInfo[]>;
}
