/**
 * The workloads of targets on Kubernetes: read the release that serves,
 * create green beside blue, wait for it (./readiness.ts), scale, delete (and
 * by the target's policy, its PVCs), list the target's releases. Who serves,
 * and what each release needs to get traffic, is the target's router's
 * (src/activities/routers/kubernetes/). What they create carries its owner,
 * and with an owner they touch only the target's objects (./ownership.ts).
 * Each one is idempotent (create if absent, patch to a desired state),
 * because Temporal retries it and a worker may die halfway.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { KubernetesPlacement } from '../../../config/targets';
import { greenManifest, releaseOf, withTag, workloadImage, type Workload } from '../../../domain/kubernetes';
import { TARGET_LABEL, type ReleaseObjects } from '../../../domain/ownership';
import type { BlueWorkload, PodInfo, WorkloadActivities } from '../../../domain/platform';
import type { ReleaseRef } from '../../../domain/upgrade';
import { clusterRouter } from '../../routers/kubernetes';
import { selectRelease } from '../../routers/kubernetes/serviceSelector';
import { kubernetesClusters, type Cluster, type Clusters, type ClustersDeps } from './client';
import { isReady, podInfo, waitUntilReady, type ReadinessProgress } from './readiness';

export interface KubernetesActivitiesDeps extends ClustersDeps {
  /** Shared with the routers, so both use one client (and its connections) per cluster; default: the factory's own. */
  clusters?: Clusters;
}

export interface ReleaseWorkload extends BlueWorkload {
  workload: { kind: KubernetesPlacement['workload']['kind']; name: string };
  pods: string[];
}

export function createKubernetesActivities(deps: KubernetesActivitiesDeps) {
  const cluster = deps.clusters ?? kubernetesClusters(deps);

  /** Each release's share of the traffic now, largest first, as the target's router serves it. */
  async function trafficShares(c: Cluster): Promise<[string, number][]> {
    return Object.entries((await clusterRouter(c).read()).weights).sort((a, b) => b[1] - a[1]);
  }

  /** The workload that serves now: the largest share. */
  async function serving(c: Cluster): Promise<Workload> {
    return c.readWorkload((await trafficShares(c))[0]![0]);
  }

  async function describe(c: Cluster, w: Workload, env: string[] = []): Promise<ReleaseWorkload> {
    const literal = (w.spec?.template.spec?.containers[0]?.env ?? []).filter((e) => env.includes(e.name) && e.value !== undefined);
    return {
      ...releaseOf(w),
      image: workloadImage(w),
      replicas: w.spec?.replicas ?? 1,
      workload: { kind: c.placement.workload.kind, name: w.metadata!.name! },
      pods: (await c.pods(w)).map((p) => p.metadata!.name!),
      ...(env.length ? { env: Object.fromEntries(literal.map((e) => [e.name, e.value!])) } : {}),
    };
  }

  return {
    /** The release that serves now: its workload, version (annotation, else image tag), image, replicas, pods. */
    async readBlueRelease(input: { target: string; env?: string[] }): Promise<ReleaseWorkload> {
      const c = cluster(input.target);
      const blue = await serving(c);
      // two targets configured on one Service: refused before anything changes
      if (c.objects.isOthers(blue)) throw c.objects.clash(c.kind, blue);
      return describe(c, blue, input.env);
    },

    /**
     * Creates green as a copy of the serving workload (see greenManifest); if it
     * exists with another image, patches the image, so a fixed image replaces a
     * bad one (emqx-operator #1214), and deletes green's pods that are not Ready
     * on another image: a StatefulSet's controller does not replace a pod that
     * never became Ready. No image: blue's repository, tagged with the green
     * version. With a router that weights Services, blue and green each get
     * their Service.
     * First the target's Service is pinned to blue: on a first upgrade it
     * selects by app labels, which green's pods carry too, and green must get
     * no traffic before it is promoted.
     * With an owner: an existing green (or its Service) that is not the
     * target's fails the step before anything changes, naming its owner; blue,
     * which serves the target, is adopted (its marks and adopted-by, metadata
     * only); green and its Service are created with the owner's marks, and an
     * existing green of the target (left by a terminated run) takes the
     * owner's upgrade.
     */
    async ensureGreenWorkload(input: {
      target: string;
      green: ReleaseRef;
      image?: string;
      replicas?: number;
      owner?: string;
      env?: Record<string, string>;
    }): Promise<{ created: boolean; image: string }> {
      const c = cluster(input.target);
      const { owner } = input;
      const { perRelease } = clusterRouter(c);
      const blue = await serving(c);
      const existing = await c.readWorkload(input.green.name, true);
      if (owner) {
        if (c.objects.isOthers(blue)) throw c.objects.clash(c.kind, blue);
        if (existing && !c.objects.isOurs(existing)) throw c.objects.clash(c.kind, existing);
        await perRelease?.check(blue, input.green.name, owner);
      }
      // Patching the serving release would restart it in place: exactly what blue-green avoids.
      if (existing && blue.metadata!.uid === existing.metadata!.uid && input.image && workloadImage(existing) !== input.image) {
        throw ApplicationFailure.nonRetryable(`release ${input.green.name} serves target '${input.target}' now; it cannot be the green release`, 'Invalid');
      }
      const adoption = owner && c.objects.adoption(c.kind, blue, owner);
      if (adoption) await c.patchWorkload(blue.metadata!.name!, adoption);
      await selectRelease(c, blue);
      let result: { created: boolean; image: string };
      if (existing) {
        const image = input.image ?? workloadImage(existing);
        const reowning = owner ? c.objects.reowning(existing, owner) : undefined;
        if (workloadImage(existing) !== image) {
          const containers = structuredClone(existing.spec!.template.spec!.containers);
          containers[0]!.image = image;
          // A merge patch replaces lists whole: send every container, only the first one's image changed.
          await c.patchWorkload(input.green.name, { ...reowning, spec: { template: { spec: { containers } } } });
        } else if (reowning) await c.patchWorkload(input.green.name, reowning);
        for (const pod of await c.pods(existing)) {
          if (!isReady(pod) && pod.spec?.containers[0]?.image !== image) await c.deletePod(pod.metadata!.name!);
        }
        result = { created: false, image };
      } else {
        const image = input.image ?? withTag(workloadImage(blue), input.green.version);
        const manifest = greenManifest(blue, input.green, image, input.replicas ?? blue.spec?.replicas ?? 1, owner ? { target: input.target, upgrade: owner } : undefined, input.env);
        // A retry whose first try created it after all: 409 AlreadyExists; the next attempt finds and checks it.
        result = { created: true, image: workloadImage(await c.createWorkload(manifest)) };
      }
      await perRelease?.ensure(blue, await c.readWorkload(input.green.name), owner);
      return result;
    },

    /** Follows the release's workload and pods by watch until every replica is Ready (./readiness.ts). */
    async waitWorkloadReady(input: { target: string; release: string }): Promise<ReadinessProgress> {
      return waitUntilReady(cluster(input.target), input.release);
    },

    async scaleWorkload(input: { target: string; release: string; replicas: number; owner?: string }): Promise<{ changed: boolean }> {
      const c = cluster(input.target);
      if (input.owner) await c.ownWorkload(input.release);
      const now = await c.readScale(input.release);
      if (now.replicas === input.replicas) return { changed: false };
      await c.writeScale(input.release, input.replicas);
      return { changed: true };
    },

    /**
     * Scales to expectedReplicas - 1 only if it is at expectedReplicas now, with
     * the resourceVersion it read (a concurrent change gives 409 and a retry):
     * a retried or replayed call never removes two pods.
     */
    async scaleDownByOne(input: { target: string; release: string; expectedReplicas: number; owner?: string }): Promise<{ replicas: number; changed: boolean }> {
      const c = cluster(input.target);
      if (input.owner) await c.ownWorkload(input.release);
      const now = await c.readScale(input.release);
      if (now.replicas < input.expectedReplicas) return { replicas: now.replicas, changed: false };
      if (now.replicas > input.expectedReplicas) {
        throw ApplicationFailure.nonRetryable(
          `${input.release} of target '${input.target}' has ${now.replicas} replicas, expected ${input.expectedReplicas}: someone else scaled it`,
          'Invalid',
        );
      }
      await c.writeScale(input.release, now.replicas - 1, now.resourceVersion);
      return { replicas: now.replicas - 1, changed: true };
    },

    /**
     * Deletes the release's workload (gone already: done), what its router
     * keeps for it (a Service of the release), and, if the target's pvcPolicy is delete, its PVCs. The
     * claims go first, while the StatefulSet still names its claim templates, so
     * a retry after a crash cannot orphan them (emqx-operator #1151); Kubernetes
     * keeps a claim until its pod has stopped. With an owner: a workload (or
     * Service, or claim) that is not the target's stays, said in `left` (an
     * undo after a clash had nothing of its own to remove), and a release
     * that serves is refused.
     */
    async deleteWorkload(input: { target: string; release: string; owner?: string }): Promise<{ deleted: boolean; claimsDeleted: string[]; left?: string }> {
      const c = cluster(input.target);
      const found = await c.readWorkload(input.release, true);
      if (input.owner) {
        if (found && !c.objects.isOurs(found)) return { deleted: false, claimsDeleted: [], left: c.objects.notOurs(c.kind, found) };
        if ((await trafficShares(c)).some(([release, weight]) => release === input.release && weight > 0)) {
          throw ApplicationFailure.nonRetryable(`release ${input.release} serves target '${input.target}' now; switch traffic away before deleting it`, 'Invalid');
        }
      }
      await clusterRouter(c).perRelease?.remove(input.release, input.owner);
      // read again: the claims go while the StatefulSet still names its templates
      const w = found && (await c.readWorkload(input.release, true));
      if (!w) return { deleted: false, claimsDeleted: [] };
      const claimsDeleted = c.placement.pvcPolicy === 'delete' && c.placement.workload.kind === 'StatefulSet' ? await c.deleteClaims(w as V1StatefulSet) : [];
      return { deleted: await c.deleteWorkload(input.release), claimsDeleted };
    },

    /** The release's pods (name, IP, ready), in ordinal order, for mapping pods to EMQX nodes; none if it does not exist (a rollback before it was made). */
    async listReleasePods(input: { target: string; release: string }): Promise<PodInfo[]> {
      const c = cluster(input.target);
      const w = await c.readWorkload(input.release, true);
      return w ? (await c.pods(w)).map(podInfo) : [];
    },

    /**
     * The target's releases: the workloads carrying its target label, its
     * configured workload and what serves it, each with its owner, its share
     * of the traffic and its objects (the workload, what its router keeps for
     * it).
     */
    async listReleases(input: { target: string }): Promise<ReleaseObjects[]> {
      const c = cluster(input.target);
      const { perRelease } = clusterRouter(c);
      const shares = new Map(await trafficShares(c));
      const [labelled, ...named] = await Promise.all([
        c.listLabelledWorkloads(`${TARGET_LABEL}=${input.target}`),
        ...[c.placement.workload.name, ...shares.keys()].map((name) => c.readWorkload(name, true)),
      ]);
      const byUid = new Map([...labelled.items, ...named].filter((w): w is Workload => !!w).map((w) => [w.metadata!.uid!, w]));
      return Promise.all(
        [...byUid.values()].map(async (w): Promise<ReleaseObjects> => {
          const { name, version } = releaseOf(w);
          const routed = (await perRelease?.list(name)) ?? [];
          const owner = c.objects.ownerOf(w);
          return {
            name,
            version,
            ...(owner ? { owner } : {}),
            weight: shares.get(name) ?? 0,
            objects: [`${c.kind} ${w.metadata!.name}`, ...routed],
          };
        }),
      );
    },
  } satisfies WorkloadActivities;
}
