/**
 * The local platform (the sandboxes of `npm start`) behind the same interface
 * as Kubernetes: a workload is a release of a kind's stand-in processes, its
 * pods `<release>-<ordinal>`; the Service is an nginx upstream, weighted
 * during a split, which the sandbox's router writes (sandboxRouter). Each
 * activity is idempotent with Kubernetes' semantics and error types, since
 * the strategies cannot tell the platforms apart. The
 * processes run in this worker's process, so only the worker that runs a
 * sandbox can serve it; the runtime hands them in as LocalWorkloads.
 * Ownership: each release in the state file records who made it (an entry
 * without an owner was written before owners were, in the target's own file:
 * the target's); with an owner, a release another target's record names is
 * refused or left alone, as on Kubernetes.
 */
import { ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import type { TargetLookup } from '../../config/targets';
import { NOT_OWNED, notOurs, type ReleaseObjects } from '../../domain/ownership';
import type { BlueWorkload, LocalRelease, LocalState, LocalWorkloads, PodInfo, WorkloadActivities } from '../../domain/platform';
import type { ReleaseWeights, TrafficRouter } from '../../domain/router';
import type { ReleaseRef } from '../../domain/upgrade';

export interface LocalPlatformDeps {
  targets: TargetLookup;
  /** The sandboxes this worker runs, by target. */
  sandboxes: ReadonlyMap<string, LocalWorkloads>;
  pollMs?: number;
}

const DEFAULT_POLL_MS = 500;

function sandboxOf(deps: Pick<LocalPlatformDeps, 'targets' | 'sandboxes'>, target: string): LocalWorkloads {
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

const isOurs = (r: LocalRelease, target: string): boolean => !r.owner || r.owner.target === target;
const clash = (r: LocalRelease, target: string, name: string) => ApplicationFailure.nonRetryable(notOurs(`release ${name}`, r.owner, target), NOT_OWNED);

/** With an owner, the release must be the target's. */
function ownRelease(s: LocalState, i: { target: string; release: string; owner?: string }): LocalRelease {
  const r = release(s, i.target, i.release);
  if (i.owner && !isOurs(r, i.target)) throw clash(r, i.target, i.release);
  return r;
}

/**
 * The router of a local target: its sandbox's nginx (src/activities/routers/nginx/).
 * A switch is recorded in the sandbox's state (the release that serves, or a
 * split's weights), which brings nginx to it before the change returns; then
 * what nginx's workers serve is read back. Nothing happens if it is so already.
 */
export function sandboxRouter(deps: Pick<LocalPlatformDeps, 'targets' | 'sandboxes'>, target: string): TrafficRouter {
  const sb = sandboxOf(deps, target);
  return {
    name: sb.router.name,
    read: () => sb.router.read(),
    async write(weights: ReleaseWeights, owner?: string) {
      const changed = await sb.change((s) => {
        for (const name of Object.keys(weights)) ownRelease(s, { target, release: name, owner });
        const [only, ...others] = Object.keys(weights);
        const next: Pick<LocalState, 'service' | 'weights'> = others.length ? { service: s.service, weights } : { service: only! };
        if (next.service === s.service && JSON.stringify(next.weights) === JSON.stringify(s.weights)) return false;
        s.service = next.service;
        if (next.weights) s.weights = next.weights;
        else delete s.weights;
        return true;
      });
      return { changed, served: await sb.router.read() };
    },
  };
}

export function createLocalPlatformActivities(deps: LocalPlatformDeps) {
  const sandbox = (target: string): LocalWorkloads => sandboxOf(deps, target);

  return {
    async readBlueRelease(input: { target: string }): Promise<BlueWorkload> {
      const sb = sandbox(input.target);
      return sb.read((s) => {
        const r = release(s, input.target, s.service);
        return { name: s.service, version: r.version, image: sb.imageOf(r.version), replicas: r.replicas };
      });
    },

    /**
     * Creates green's nodes beside blue; an existing green of another version is restarted with green's (never the serving release).
     * With an owner: a green another target's record names is refused before anything changes; blue is adopted, green recorded as the owner's.
     */
    async ensureGreenWorkload(input: { target: string; green: ReleaseRef; image?: string; replicas?: number; owner?: string }): Promise<{ created: boolean; image: string }> {
      const sb = sandbox(input.target);
      const image = sb.imageOf(input.green.version);
      const { target, owner } = input;
      return sb.change((s) => {
        const existing = s.releases[input.green.name];
        const blue = release(s, target, s.service);
        // refusals first: a failed change must leave the state as it was
        if (owner && existing && !isOurs(existing, target)) throw clash(existing, target, input.green.name);
        if (owner && !isOurs(blue, target)) throw clash(blue, target, s.service);
        if (existing && existing.version !== input.green.version && s.service === input.green.name) {
          throw ApplicationFailure.nonRetryable(`release ${input.green.name} serves target '${input.target}' now; it cannot be the green release`, 'Invalid');
        }
        if (owner) blue.owner ??= { target, adoptedBy: owner };
        const owned = owner ? { owner: { target, upgrade: owner } } : {};
        if (existing) {
          Object.assign(existing, owned, { version: input.green.version });
          return { created: false, image };
        }
        s.releases[input.green.name] = { version: input.green.version, replicas: input.replicas ?? blue.replicas, ports: [], ...owned };
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

    async scaleWorkload(input: { target: string; release: string; replicas: number; owner?: string }): Promise<{ changed: boolean }> {
      return sandbox(input.target).change((s) => {
        const r = ownRelease(s, input);
        if (r.replicas === input.replicas) return { changed: false };
        r.replicas = input.replicas;
        return { changed: true };
      });
    },

    /** Stops the highest-numbered node only if the release has expectedReplicas now: a retry never removes two. */
    async scaleDownByOne(input: { target: string; release: string; expectedReplicas: number; owner?: string }): Promise<{ replicas: number; changed: boolean }> {
      return sandbox(input.target).change((s) => {
        const r = ownRelease(s, input);
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

    /** Stops every node of the release and forgets it (gone already: done); the serving release is refused; with an owner, another target's stays (said in `left`). */
    async deleteWorkload(input: { target: string; release: string; owner?: string }): Promise<{ deleted: boolean; left?: string }> {
      return sandbox(input.target).change((s) => {
        const r = s.releases[input.release];
        if (!r) return { deleted: false };
        if (input.owner && !isOurs(r, input.target)) return { deleted: false, left: notOurs(`release ${input.release}`, r.owner, input.target) };
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

    /** The releases the state file records, with their owner (none recorded: the target's) and share of the traffic. */
    async listReleases(input: { target: string }): Promise<ReleaseObjects[]> {
      return sandbox(input.target).read((s) =>
        Object.entries(s.releases).map(([name, r]) => ({
          name,
          version: r.version,
          owner: r.owner ?? { target: input.target },
          weight: s.weights ? (s.weights[name] ?? 0) : s.service === name ? 100 : 0,
          objects: [`local release ${name} (${r.replicas} node${r.replicas === 1 ? '' : 's'})`],
        })),
      );
    },
  } satisfies WorkloadActivities;
}
