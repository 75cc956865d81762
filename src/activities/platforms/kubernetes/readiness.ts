/**
 * A release's readiness by watch: its workload and pods followed from the
 * listed resourceVersion (./mirror.ts) until every desired replica is Ready
 * and its controller has seen the current spec, so traffic can move the
 * moment the last pod is. What a pod waits for (ImagePullBackOff,
 * CrashLoopBackOff, ...) goes into each heartbeat.
 */
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import type { V1Pod } from '@kubernetes/client-node';
import { releasePodSelector, type Workload } from '../../../domain/kubernetes';
import type { PodInfo } from '../../../domain/platform';
import type { Cluster } from './client';
import { followUntil, Mirror } from './mirror';

export interface ReadinessProgress {
  release: string;
  ready: number;
  desired: number;
  /** Pods not ready yet, with why their containers wait (ImagePullBackOff, CrashLoopBackOff, ...). */
  waiting: { pod: string; reason: string }[];
}

export const isReady = (p: V1Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export const podInfo = (p: V1Pod): PodInfo => ({
  name: p.metadata!.name!,
  ready: isReady(p),
  ...(p.status?.podIP ? { ip: p.status.podIP } : {}),
});

const waitingReason = (p: V1Pod): string =>
  (p.status?.containerStatuses ?? []).map((c) => c.state?.waiting?.reason).find(Boolean) ?? p.status?.phase ?? 'Pending';

const byName = (a: V1Pod, b: V1Pod): number => a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true });

/** The readiness of a release from its workload and its pods: every desired replica Ready, and the status is of the current spec. */
function readiness(release: string, w: Workload | undefined, pods: V1Pod[]): ReadinessProgress & { done: boolean } {
  const desired = w?.spec?.replicas ?? 1;
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp).sort(byName);
  const ready = live.filter(isReady).length;
  // The controller must have seen the current spec, or its pods may still be those of an older one.
  const observed = !!w && (w.status?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0);
  return {
    release,
    ready,
    desired,
    waiting: live.filter((p) => !isReady(p)).map((p) => ({ pod: p.metadata!.name!, reason: waitingReason(p) })),
    done: observed && ready >= desired,
  };
}

/**
 * Follows the release's workload and pods by watch until every replica is
 * Ready; heartbeats each change (and every second) with what it waits for,
 * and ends with CancelledFailure when cancelled. The workflow bounds how long.
 */
export async function waitUntilReady(c: Cluster, release: string): Promise<ReadinessProgress> {
  const first = await c.readWorkload(release);
  const selector = releasePodSelector(first.spec?.selector);
  let workloads!: Mirror<Workload>;
  let pods!: Mirror<V1Pod>;
  return followUntil<ReadinessProgress>({
    mirrors: ({ onChange, onError }) => {
      workloads = new Mirror<Workload>({
        kc: c.kc,
        path: c.workloadsPath(),
        fieldSelector: `metadata.name=${release}`,
        list: () => c.listWorkloads(release),
        onChange,
        onError,
      });
      pods = new Mirror<V1Pod>({ kc: c.kc, path: `/api/v1/namespaces/${c.namespace}/pods`, labelSelector: selector, list: () => c.listPods(selector), onChange, onError });
      return [workloads, pods];
    },
    check: () => {
      const w = workloads.items()[0];
      if (!w) throw ApplicationFailure.nonRetryable(`${c.kind} ${release} of target '${c.target}' was deleted while waiting for it`, 'NotFound');
      const { done, ...progress } = readiness(release, w, pods.items());
      heartbeat(progress);
      return done ? progress : undefined;
    },
    // A watch refused for good (rights, a deleted namespace) ends the wait; anything else is retried by the mirror.
    fatal: (err) => {
      const failure = c.failure(`watching ${release}`, err);
      return failure.nonRetryable ? failure : undefined;
    },
    cancelled: Context.current().cancelled,
  });
}
