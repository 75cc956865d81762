/**
 * Kubernetes activities over @kubernetes/client-node: read the release the
 * Service serves, create green beside blue, wait for readiness, switch the
 * Service, scale, delete (and by the target's policy, its PVCs). Each one is
 * idempotent (create if absent, patch to a desired state), because Temporal
 * retries it and a worker may die halfway. The worker resolves the cluster
 * and namespace from the target's configuration when an activity runs.
 */
import { ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { KubernetesPlacement, TargetLookup } from '../../config/targets';
import type { BlueWorkload, PlatformActivities, PodInfo } from '../../domain/platform';
import type { ReleaseRef } from '../../domain/upgrade';
import {
  greenManifest,
  releaseOf,
  releasePodSelector,
  serviceSelectorFor,
  RELEASE_LABEL,
  withTag,
  workloadImage,
  type Workload,
} from '../../domain/kubernetes';

export interface KubernetesActivitiesDeps {
  targets: TargetLookup;
  /** The client configuration for a placement; default: its kubeconfig file and context, else in-cluster or KUBECONFIG. */
  kubeConfigFor?: (placement: KubernetesPlacement) => KubeConfig;
  /** How often the readiness wait polls; tests shorten it. */
  pollMs?: number;
}

export interface ReleaseWorkload extends BlueWorkload {
  workload: { kind: KubernetesPlacement['workload']['kind']; name: string };
  pods: string[];
}

export interface ReadinessProgress {
  release: string;
  ready: number;
  desired: number;
  /** Pods not ready yet, with why their containers wait (ImagePullBackOff, CrashLoopBackOff, ...). */
  waiting: { pod: string; reason: string }[];
}

const DEFAULT_POLL_MS = 1000;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function defaultKubeConfig(p: KubernetesPlacement): KubeConfig {
  const kc = new KubeConfig();
  if (p.kubeconfig) kc.loadFromFile(p.kubeconfig);
  else kc.loadFromDefault();
  if (p.context) kc.setCurrentContext(p.context);
  return kc;
}

/** The apiserver's own words: the `message` of the Status object it answers errors with (the client hands over its text). */
function message(err: ApiException<unknown>): string {
  let body: unknown = err.body;
  if (typeof err.body === 'string') {
    try {
      body = JSON.parse(err.body);
    } catch {
      return err.body || `HTTP ${err.code}`;
    }
  }
  const text = (body as { message?: unknown } | undefined)?.message;
  return typeof text === 'string' ? text : `HTTP ${err.code}`;
}

/** One target's cluster, namespace and workload kind; turns API errors into failures that say what and where. */
class Cluster {
  constructor(
    readonly target: string,
    readonly placement: KubernetesPlacement,
    private readonly apps: AppsV1Api,
    private readonly core: CoreV1Api,
  ) {}

  get namespace(): string {
    return this.placement.namespace;
  }

  private get isSts(): boolean {
    return this.placement.workload.kind === 'StatefulSet';
  }

  private where(): string {
    return `namespace ${this.namespace} of target '${this.target}'`;
  }

  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.failure(what, err);
    }
  }

  /** As call, but a 404 is an answer (already gone, not created yet), not an error. */
  async callOrAbsent<T, A>(what: string, fn: () => Promise<T>, absent: A): Promise<T | A> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return absent;
      throw this.failure(what, err);
    }
  }

  private failure(what: string, err: unknown): ApplicationFailure {
    if (!(err instanceof ApiException)) {
      return ApplicationFailure.retryable(`${what} in ${this.where()}: Kubernetes API unreachable: ${(err as Error).message}`, 'Unreachable');
    }
    const text = `${what} in ${this.where()} failed: ${message(err)}`;
    if (err.code === 401 || err.code === 403) {
      return ApplicationFailure.nonRetryable(`${text} (HTTP ${err.code}); check the worker's kubeconfig and its RBAC rights`, 'Unauthorized');
    }
    if (err.code === 404) return ApplicationFailure.nonRetryable(text, 'NotFound');
    // Someone changed the object since it was read (or created it meanwhile): read again and retry.
    if (err.code === 409) return ApplicationFailure.retryable(text, 'Conflict');
    if (err.code >= 500 || err.code === 429) return ApplicationFailure.retryable(text, 'KubernetesUnavailable');
    return ApplicationFailure.nonRetryable(text, 'Invalid');
  }

  readWorkload(name: string): Promise<Workload>;
  readWorkload(name: string, orAbsent: true): Promise<Workload | undefined>;
  readWorkload(name: string, orAbsent?: true): Promise<Workload | undefined> {
    const what = `reading ${this.placement.workload.kind} ${name}`;
    const read = (): Promise<Workload> =>
      this.isSts ? this.apps.readNamespacedStatefulSet({ name, namespace: this.namespace }) : this.apps.readNamespacedDeployment({ name, namespace: this.namespace });
    return orAbsent ? this.callOrAbsent(what, read, undefined) : this.call(what, read);
  }

  createWorkload(body: Workload): Promise<Workload> {
    const namespace = this.namespace;
    return this.call(`creating ${this.placement.workload.kind} ${body.metadata!.name}`, (): Promise<Workload> =>
      this.isSts ? this.apps.createNamespacedStatefulSet({ namespace, body: body as V1StatefulSet }) : this.apps.createNamespacedDeployment({ namespace, body: body as V1Deployment }),
    );
  }

  patchWorkload(name: string, body: object): Promise<Workload> {
    const namespace = this.namespace;
    return this.call(`patching ${this.placement.workload.kind} ${name}`, (): Promise<Workload> =>
      this.isSts
        ? this.apps.patchNamespacedStatefulSet({ name, namespace, body }, MERGE_PATCH)
        : this.apps.patchNamespacedDeployment({ name, namespace, body }, MERGE_PATCH),
    );
  }

  async readScale(name: string): Promise<{ replicas: number; resourceVersion: string }> {
    const namespace = this.namespace;
    const s = await this.call(`reading the scale of ${this.placement.workload.kind} ${name}`, () =>
      this.isSts ? this.apps.readNamespacedStatefulSetScale({ name, namespace }) : this.apps.readNamespacedDeploymentScale({ name, namespace }),
    );
    return { replicas: s.spec?.replicas ?? 0, resourceVersion: s.metadata!.resourceVersion! };
  }

  /** Sets replicas through the scale subresource; with a resourceVersion, only if nothing changed since it was read (else 409). */
  async writeScale(name: string, replicas: number, resourceVersion?: string): Promise<void> {
    const namespace = this.namespace;
    const body = { metadata: { name, namespace, resourceVersion }, spec: { replicas } };
    await this.call(`scaling ${this.placement.workload.kind} ${name} to ${replicas}`, () =>
      this.isSts ? this.apps.replaceNamespacedStatefulSetScale({ name, namespace, body }) : this.apps.replaceNamespacedDeploymentScale({ name, namespace, body }),
    );
  }

  async deleteWorkload(name: string): Promise<boolean> {
    const namespace = this.namespace;
    return this.callOrAbsent(
      `deleting ${this.placement.workload.kind} ${name}`,
      async () => {
        await (this.isSts ? this.apps.deleteNamespacedStatefulSet({ name, namespace }) : this.apps.deleteNamespacedDeployment({ name, namespace }));
        return true;
      },
      false,
    );
  }

  async pods(w: Workload): Promise<V1Pod[]> {
    const labelSelector = releasePodSelector(w.spec?.selector);
    const list = await this.call(`listing pods of ${w.metadata!.name}`, () => this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }));
    return list.items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }));
  }

  readService(): Promise<{ selector: Record<string, string> }> {
    const name = this.placement.service;
    return this.call(`reading Service ${name}`, async () => {
      const s = await this.core.readNamespacedService({ name, namespace: this.namespace });
      return { selector: s.spec?.selector ?? {} };
    });
  }

  async patchServiceSelector(selector: Record<string, string | null>): Promise<void> {
    const name = this.placement.service;
    await this.call(`switching Service ${name}`, () =>
      this.core.patchNamespacedService({ name, namespace: this.namespace, body: { spec: { selector } } }, MERGE_PATCH),
    );
  }

  /** A StatefulSet's claims are `<template>-<sts>-<ordinal>`; the selector narrows the list, the name decides. */
  async deleteClaims(sts: V1StatefulSet): Promise<string[]> {
    const name = sts.metadata!.name!;
    const templates = (sts.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata!.name!);
    if (templates.length === 0) return [];
    const labelSelector = releasePodSelector(sts.spec?.selector);
    const list = await this.call(`listing PersistentVolumeClaims of ${name}`, () =>
      this.core.listNamespacedPersistentVolumeClaim({ namespace: this.namespace, labelSelector }),
    );
    const ours = list.items.map((c) => c.metadata!.name!).filter((c) => templates.some((t) => new RegExp(`^${t}-${name}-\\d+$`).test(c)));
    for (const claim of ours) {
      await this.callOrAbsent(
        `deleting PersistentVolumeClaim ${claim}`,
        () => this.core.deleteNamespacedPersistentVolumeClaim({ name: claim, namespace: this.namespace }),
        undefined,
      );
    }
    return ours;
  }
}

const podInfo = (p: V1Pod): PodInfo => ({
  name: p.metadata!.name!,
  ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  ...(p.status?.podIP ? { ip: p.status.podIP } : {}),
});

const waitingReason = (p: V1Pod): string =>
  (p.status?.containerStatuses ?? []).map((c) => c.state?.waiting?.reason).find(Boolean) ?? p.status?.phase ?? 'Pending';

export function createKubernetesActivities(deps: KubernetesActivitiesDeps) {
  const configFor = deps.kubeConfigFor ?? defaultKubeConfig;
  const clients = new Map<string, { apps: AppsV1Api; core: CoreV1Api }>();

  function cluster(target: string): Cluster {
    let placement: KubernetesPlacement | undefined;
    try {
      placement = deps.targets(target).kubernetes;
      if (!placement) throw new Error(`target '${target}' has no kubernetes section (namespace, workload, service) in the worker's configuration`);
      const key = `${placement.kubeconfig ?? ''}\0${placement.context ?? ''}`;
      if (!clients.has(key)) {
        const kc = configFor(placement);
        clients.set(key, { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) });
      }
      const { apps, core } = clients.get(key)!;
      return new Cluster(target, placement, apps, core);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`Kubernetes configuration of target '${target}': ${(err as Error).message}`, 'Misconfigured');
    }
  }

  /** The workload the Service selects by release label; without one (before cutover's first upgrade), the configured workload. */
  async function serving(c: Cluster): Promise<Workload> {
    const { selector } = await c.readService();
    return c.readWorkload(selector[RELEASE_LABEL] ?? c.placement.workload.name);
  }

  async function describe(c: Cluster, w: Workload): Promise<ReleaseWorkload> {
    return {
      ...releaseOf(w),
      image: workloadImage(w),
      replicas: w.spec?.replicas ?? 1,
      workload: { kind: c.placement.workload.kind, name: w.metadata!.name! },
      pods: (await c.pods(w)).map((p) => p.metadata!.name!),
    };
  }

  return {
    /** The release the Service sends traffic to now: its workload, version (annotation, else image tag), image, replicas, pods. */
    async readBlueRelease(input: { target: string }): Promise<ReleaseWorkload> {
      const c = cluster(input.target);
      return describe(c, await serving(c));
    },

    /**
     * Creates green as a copy of the serving workload (see greenManifest); if it
     * exists with another image, patches the image, so a fixed image replaces a
     * bad one (emqx-operator #1214). No image: blue's repository, tagged with the green version.
     */
    async ensureGreenWorkload(input: { target: string; green: ReleaseRef; image?: string; replicas?: number }): Promise<{ created: boolean; image: string }> {
      const c = cluster(input.target);
      const existing = await c.readWorkload(input.green.name, true);
      if (existing) {
        const image = input.image ?? workloadImage(existing);
        if (workloadImage(existing) === image) return { created: false, image };
        // Patching the serving release would restart it in place: exactly what blue-green avoids.
        if ((await serving(c)).metadata!.uid === existing.metadata!.uid) {
          throw ApplicationFailure.nonRetryable(`release ${input.green.name} serves target '${input.target}' now; it cannot be the green release`, 'Invalid');
        }
        const containers = structuredClone(existing.spec!.template.spec!.containers);
        containers[0]!.image = image;
        // A merge patch replaces lists whole: send every container, only the first one's image changed.
        await c.patchWorkload(input.green.name, { spec: { template: { spec: { containers } } } });
        return { created: false, image };
      }
      const blue = await serving(c);
      const image = input.image ?? withTag(workloadImage(blue), input.green.version);
      const manifest = greenManifest(blue, input.green, image, input.replicas ?? blue.spec?.replicas ?? 1);
      // A retry whose first try created it after all: 409 AlreadyExists; the next attempt finds and checks it.
      await c.createWorkload(manifest);
      return { created: true, image };
    },

    /** Heartbeats progress until every replica of the release is ready; ends with CancelledFailure when cancelled. The workflow bounds how long. */
    async waitWorkloadReady(input: { target: string; release: string; pollMs?: number }): Promise<ReadinessProgress> {
      const c = cluster(input.target);
      for (;;) {
        const w = await c.readWorkload(input.release);
        const pods = await c.pods(w);
        const desired = w.spec?.replicas ?? 1;
        const progress: ReadinessProgress = {
          release: input.release,
          ready: w.status?.readyReplicas ?? 0,
          desired,
          waiting: pods.filter((p) => !podInfo(p).ready).map((p) => ({ pod: p.metadata!.name!, reason: waitingReason(p) })),
        };
        heartbeat(progress);
        // The status must describe the current spec, or it may still count replicas removed or replaced since.
        const observed = (w.status?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0);
        if (observed && progress.ready >= desired && pods.filter((p) => podInfo(p).ready).length >= desired) return progress;
        // Rejects with CancelledFailure once the workflow cancels (rollback), so the wait ends at once.
        await sleep(input.pollMs ?? deps.pollMs ?? DEFAULT_POLL_MS);
      }
    },

    /** Without an HTTPRoute only an all-or-nothing split exists: the Service's selector points at the release with 100 (merge patch; nothing sent if it already does). */
    async setWeights(input: { target: string; weights: Record<string, number> }): Promise<{ changed: boolean }> {
      const serving = Object.entries(input.weights).filter(([, w]) => w > 0);
      if (serving.length !== 1 || serving[0][1] !== 100) {
        throw ApplicationFailure.nonRetryable(
          `target '${input.target}' switches traffic with its Service selector, which cannot split ${JSON.stringify(input.weights)}: use traffic all-at-once`,
          'Invalid',
        );
      }
      const release = serving[0][0];
      const c = cluster(input.target);
      const [{ selector }, w] = await Promise.all([c.readService(), c.readWorkload(release)]);
      const desired = serviceSelectorFor(selector, w);
      if (Object.entries(desired).every(([k, v]) => (v === null ? !(k in selector) : selector[k] === v))) return { changed: false };
      await c.patchServiceSelector(desired);
      return { changed: true };
    },

    async scaleWorkload(input: { target: string; release: string; replicas: number }): Promise<{ changed: boolean }> {
      const c = cluster(input.target);
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
    async scaleDownByOne(input: { target: string; release: string; expectedReplicas: number }): Promise<{ replicas: number; changed: boolean }> {
      const c = cluster(input.target);
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
     * Deletes the release's workload (gone already: done) and, if the target's
     * pvcPolicy is delete, its PVCs. The claims go first, while the StatefulSet
     * still names its claim templates, so a retry after a crash cannot orphan them
     * (emqx-operator #1151); Kubernetes keeps a claim until its pod has stopped.
     */
    async deleteWorkload(input: { target: string; release: string }): Promise<{ deleted: boolean; claimsDeleted: string[] }> {
      const c = cluster(input.target);
      const w = await c.readWorkload(input.release, true);
      if (!w) return { deleted: false, claimsDeleted: [] };
      const claimsDeleted = c.placement.pvcPolicy === 'delete' && c.placement.workload.kind === 'StatefulSet' ? await c.deleteClaims(w as V1StatefulSet) : [];
      return { deleted: await c.deleteWorkload(input.release), claimsDeleted };
    },

    /** The release's pods (name, IP, ready), in ordinal order, for mapping pods to EMQX nodes. */
    async listReleasePods(input: { target: string; release: string }): Promise<PodInfo[]> {
      const c = cluster(input.target);
      return (await c.pods(await c.readWorkload(input.release))).map(podInfo);
    },
  } satisfies PlatformActivities;
}

export type KubernetesActivities = ReturnType<typeof createKubernetesActivities>;
