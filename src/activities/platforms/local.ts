/**
 * The local platform (the sandboxes of `npm start`) behind the same interface
 * as Kubernetes: a workload is a release of a kind's stand-in processes, its
 * pods `<release>-<ordinal>`; the Service is an nginx upstream, weighted
 * during a split. Each activity is idempotent with Kubernetes' semantics and
 * error types, since the strategies cannot tell the platforms apart. The
 * processes run in this worker's process, so only the worker that runs a
 * sandbox can serve it; the runtime hands them in as LocalWorkloads.
 */
import { ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import type { TargetLookup } from '../../config/targets';
import type { BlueWorkload, LocalRelease, LocalState, LocalWorkloads, PlatformActivities, PodInfo } from '../../domain/platform';
import type { ReleaseRef } from '../../domain/upgrade';

export interface LocalPlatformDeps {
  targets: TargetLookup;
  /** The sandboxes this worker runs, by target. */
  sandboxes: ReadonlyMap<string, LocalWorkloads>;
  pollMs?: number;
}

const DEFAULT_POLL_MS = 500;

export function createLocalPlatformActivities(deps: LocalPlatformDeps) {
  function sandbox(target: string): LocalWorkloads {
    const s = deps.sandboxes.get(target);
    if (!s || !deps.targets(target).local) {
      throw ApplicationFailure.nonRetryable(`target '${target}' is not a local sandbox run by this worker (only the worker of npm start runs it)`, 'Misconfigured');
    }
    return s;
  }

  function release(s: LocalState, target: string, name: string): LocalRelease {
    const r = s.releases[name];
    if (!r) throw ApplicationFailure.nonRetryable(`release ${name} of local target '${target}' does not exist`, 'NotFound');
    return r;
  }

  return {
    async readBlueRelease(input: { target: string }): Promise<BlueWorkload> {
      const sb = sandbox(input.target);
      return sb.read((s) => {
        const r = release(s, input.target, s.service);
        return { name: s.service, version: r.version, image: sb.imageOf(r.version), replicas: r.replicas };
      });
    },

    /** Creates green's nodes beside blue; an existing green of another version is restarted with green's (never the serving release). */
    async ensureGreenWorkload(input: { target: string; green: ReleaseRef; image?: string; replicas?: number }): Promise<{ created: boolean; image: string }> {
      const sb = sandbox(input.target);
      const image = sb.imageOf(input.green.version);
      return sb.change((s) => {
        const existing = s.releases[input.green.name];
        if (existing) {
          if (existing.version === input.green.version) return { created: false, image };
          if (s.service === input.green.name) {
            throw ApplicationFailure.nonRetryable(`release ${input.green.name} serves target '${input.target}' now; it cannot be the green release`, 'Invalid');
          }
          existing.version = input.green.version;
          return { created: false, image };
        }
        const replicas = input.replicas ?? release(s, input.target, s.service).replicas;
        s.releases[input.green.name] = { version: input.green.version, replicas, ports: [] };
        return { created: true, image };
      });
    },

    /** Heartbeats until every node of the release runs (restarting any that died); ends with CancelledFailure when cancelled. */
    async waitWorkloadReady(input: { target: string; release: string }): Promise<{ release: string; ready: number; desired: number }> {
      const sb = sandbox(input.target);
      for (;;) {
        await sb.heal();
        const pods = await sb.read((s) => (release(s, input.target, input.release), sb.pods(input.release)));
        const progress = { release: input.release, ready: pods.filter((p) => p.ready).length, desired: pods.length };
        heartbeat(progress);
        if (progress.ready === progress.desired) return progress;
        await sleep(deps.pollMs ?? DEFAULT_POLL_MS);
      }
    },

    /** Rewrites nginx's upstream weights and reloads gracefully (open connections stay where they are); nothing happens if they are already so. */
    async setWeights(input: { target: string; weights: Record<string, number> }): Promise<{ changed: boolean }> {
      const weights = Object.fromEntries(Object.entries(input.weights).filter(([, w]) => w > 0));
      const total = Object.values(weights).reduce((a, b) => a + b, 0);
      if (total !== 100 || Object.values(weights).some((w) => !Number.isInteger(w))) {
        throw ApplicationFailure.nonRetryable(`weights must be whole numbers summing to 100, got ${JSON.stringify(input.weights)}`, 'Invalid');
      }
      return sandbox(input.target).change((s) => {
        for (const name of Object.keys(weights)) release(s, input.target, name);
        const [only] = Object.keys(weights);
        const next: Pick<LocalState, 'service' | 'weights'> =
          Object.keys(weights).length === 1 ? { service: only } : { service: s.service, weights };
        if (next.service === s.service && JSON.stringify(next.weights) === JSON.stringify(s.weights)) return { changed: false };
        s.service = next.service;
        if (next.weights) s.weights = next.weights;
        else delete s.weights;
        return { changed: true };
      });
    },

    async scaleWorkload(input: { target: string; release: string; replicas: number }): Promise<{ changed: boolean }> {
      return sandbox(input.target).change((s) => {
        const r = release(s, input.target, input.release);
        if (r.replicas === input.replicas) return { changed: false };
        r.replicas = input.replicas;
        return { changed: true };
      });
    },

    /** Stops the highest-numbered node only if the release has expectedReplicas now: a retry never removes two. */
    async scaleDownByOne(input: { target: string; release: string; expectedReplicas: number }): Promise<{ replicas: number; changed: boolean }> {
      return sandbox(input.target).change((s) => {
        const r = release(s, input.target, input.release);
        if (r.replicas < input.expectedReplicas) return { replicas: r.replicas, changed: false };
        if (r.replicas > input.expectedReplicas) {
          throw ApplicationFailure.nonRetryable(
            `${input.release} of target '${input.target}' has ${r.replicas} replicas, expected ${input.expectedReplicas}: someone else scaled it`,
            'Invalid',
          );
        }
        r.replicas -= 1;
        return { replicas: r.replicas, changed: true };
      });
    },

    /** Stops every node of the release and forgets it (gone already: done); the serving release is refused. */
    async deleteWorkload(input: { target: string; release: string }): Promise<{ deleted: boolean }> {
      return sandbox(input.target).change((s) => {
        if (!s.releases[input.release]) return { deleted: false };
        if (s.service === input.release || (s.weights?.[input.release] ?? 0) > 0) {
          throw ApplicationFailure.nonRetryable(`release ${input.release} serves target '${input.target}' now; switch traffic away before deleting it`, 'Invalid');
        }
        delete s.releases[input.release];
        return { deleted: true };
      });
    },

    async listReleasePods(input: { target: string; release: string }): Promise<PodInfo[]> {
      const sb = sandbox(input.target);
      const pods = await sb.read((s) => (release(s, input.target, input.release), sb.pods(input.release)));
      return pods.map((p) => ({ ...p, ip: '127.0.0.1' }));
    },
  } satisfies PlatformActivities;
}

export type LocalPlatformActivities = ReturnType<typeof createLocalPlatformActivities>;
