/**
 * Kubernetes activities over @kubernetes/client-node: read the release the
 * Service serves, create green beside blue, wait for readiness (by watch),
 * move traffic (HTTPRoute weights, or the Service selector), scale, delete
 * (and by the target's policy, its PVCs), list the target's releases. What
 * they create carries its owner, and with an owner they touch only the
 * target's objects (kubernetesOwnership.ts). Each one is
 * idempotent (create if absent, patch to a desired state), because Temporal
 * retries it and a worker may die halfway. The worker resolves the cluster
 * and namespace from the target's configuration when an activity runs.
 */
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Pod,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { KubernetesPlacement, TargetLookup } from '../../config/targets';
import { TARGET_LABEL, type ReleaseObjects } from '../../domain/ownership';
import type { BlueWorkload, PlatformActivities, PodInfo } from '../../domain/platform';
import type { ReleaseRef } from '../../domain/upgrade';
import { isTransientStatus } from '../../domain/retry';
import {
  greenManifest,
  releaseOf,
  releasePodLabels,
  releasePodSelector,
  releaseServiceName,
  serviceSelectorFor,
  RELEASE_LABEL,
  REVISION_LABEL,
  withTag,
  workloadImage,
  type Workload,
} from '../../domain/kubernetes';
import { withKeptAliveConnections } from './keptAliveConnections';
import { TargetObjects } from './kubernetesOwnership';
import { tryAgainQuickly } from '../transient';
import { followUntil, Mirror } from './kubernetesMirror';

export interface KubernetesActivitiesDeps {
  targets: TargetLookup;
  /** The client configuration for a placement; default: its kubeconfig file and context, else in-cluster or KUBECONFIG. */
  kubeConfigFor?: (placement: KubernetesPlacement) => KubeConfig;
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

const GATEWAY = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function defaultKubeConfig(p: KubernetesPlacement): KubeConfig {
  const kc = new KubeConfig();
  if (p.kubeconfig) kc.loadFromFile(p.kubeconfig);
  else kc.loadFromDefault();
  if (p.context) kc.setCurrentContext(p.context);
  return kc;
}

/** The apiserver's own words: the `message` of the Status object it answers errors with (the client hands over its text). */
export function apiServerMessage(err: ApiException<unknown>): string {
  let body: unknown = err.body;
  if (typeof err.body === 'string') {
    try {
      body = JSON.parse(err.body);
    } catch {
      // not the API server's Status: a proxy's page, kept short
      return err.body.slice(0, 200) || `HTTP ${err.code}`;
    }
  }
  const text = (body as { message?: unknown } | undefined)?.message;
  return typeof text === 'string' ? text : `HTTP ${err.code}`;
}

/** An API error (or a refused watch, which has only a status code) as a failure that says what, where and whether to retry. */
export function kubernetesFailure(what: string, where: string, err: unknown): ApplicationFailure {
  const code = err instanceof ApiException ? err.code : (err as { statusCode?: number } | undefined)?.statusCode;
  if (code === undefined) {
    return ApplicationFailure.retryable(`${what} in ${where}: Kubernetes API unreachable: ${(err as Error).message}`, 'Unreachable');
  }
  const text = `${what} in ${where} failed: ${err instanceof ApiException ? apiServerMessage(err) : `HTTP ${code} ${(err as Error).message}`}`;
  if (code === 401 || code === 403) {
    return ApplicationFailure.nonRetryable(`${text} (HTTP ${code}); check the worker's kubeconfig and its RBAC rights`, 'Unauthorized');
  }
  if (code === 404) return ApplicationFailure.nonRetryable(text, 'NotFound');
  // Someone changed the object since it was read (or created it meanwhile): read again and retry.
  if (code === 409) return ApplicationFailure.retryable(text, 'Conflict');
  // the API server (or a proxy in front of it) overloaded or failing: 5xx, 429 with Retry-After, 408
  if (isTransientStatus(code)) return ApplicationFailure.retryable(text, 'KubernetesUnavailable');
  return ApplicationFailure.nonRetryable(text, 'Invalid');
}

interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  port?: number;
  weight?: number;
}

interface HTTPRoute {
  metadata: { name: string; resourceVersion: string };
  spec: { rules?: { backendRefs?: BackendRef[] }[] };
}

/** One target's cluster, namespace and workload kind; turns API errors into failures that say what and where. */
class Cluster {
  /** Which objects of the namespace are the target's. */
  readonly objects: TargetObjects;

  constructor(
    readonly target: string,
    readonly placement: KubernetesPlacement,
    readonly kc: KubeConfig,
    private readonly apps: AppsV1Api,
    private readonly core: CoreV1Api,
    private readonly custom: CustomObjectsApi,
  ) {
    this.objects = new TargetObjects(target, placement.workload.name);
  }

  get namespace(): string {
    return this.placement.namespace;
  }

  get kind(): KubernetesPlacement['workload']['kind'] {
    return this.placement.workload.kind;
  }

  private get isSts(): boolean {
    return this.placement.workload.kind === 'StatefulSet';
  }

  private where(): string {
    return `namespace ${this.namespace} of target '${this.target}'`;
  }

  /**
   * A request. No answer or a transient status is tried again at once (twice;
   * then the activity's retries); a 409 is left to the caller's next
   * attempt, which reads again. `answers`: statuses that are answers, not errors.
   */
  private send<T, A>(what: string, fn: () => Promise<T>, answers: Partial<Record<404 | 409, A>> = {}): Promise<T | A> {
    return tryAgainQuickly(
      async () => {
        try {
          return await fn();
        } catch (err) {
          if (err instanceof ApiException && (err.code === 404 || err.code === 409) && err.code in answers) return answers[err.code] as A;
          throw this.failure(what, err);
        }
      },
      { failed: (f) => f instanceof ApplicationFailure && !f.nonRetryable && f.type !== 'Conflict' },
    );
  }

  call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.send(what, fn) as Promise<T>;
  }

  /** As call, but a 404 is an answer (already gone, not created yet), not an error. */
  callOrAbsent<T, A>(what: string, fn: () => Promise<T>, absent: A): Promise<T | A> {
    return this.send(what, fn, { 404: absent });
  }

  failure(what: string, err: unknown): ApplicationFailure {
    return kubernetesFailure(what, this.where(), err);
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

  /** The workloads of this kind that carry these labels. */
  listLabelledWorkloads(labelSelector: string): Promise<{ items: Workload[] }> {
    const namespace = this.namespace;
    return this.call(`listing ${this.kind}s (${labelSelector})`, (): Promise<{ items: Workload[] }> =>
      this.isSts ? this.apps.listNamespacedStatefulSet({ namespace, labelSelector }) : this.apps.listNamespacedDeployment({ namespace, labelSelector }),
    );
  }

  /** The workloads of this kind named so, as a list the readiness wait follows by watch. */
  listWorkloads(name: string): Promise<{ items: Workload[]; metadata?: { resourceVersion?: string } }> {
    const namespace = this.namespace;
    const fieldSelector = `metadata.name=${name}`;
    return this.call(`listing ${this.kind} ${name}`, (): Promise<{ items: Workload[] }> =>
      this.isSts ? this.apps.listNamespacedStatefulSet({ namespace, fieldSelector }) : this.apps.listNamespacedDeployment({ namespace, fieldSelector }),
    );
  }

  workloadsPath(): string {
    return `/apis/apps/v1/namespaces/${this.namespace}/${this.isSts ? 'statefulsets' : 'deployments'}`;
  }

  listPods(labelSelector: string): Promise<{ items: V1Pod[]; metadata?: { resourceVersion?: string } }> {
    return this.call(`listing pods (${labelSelector})`, () => this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }));
  }

  async pods(w: Workload): Promise<V1Pod[]> {
    const list = await this.listPods(releasePodSelector(w.spec?.selector));
    return list.items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }));
  }

  async deletePod(name: string): Promise<void> {
    await this.callOrAbsent(`deleting pod ${name}`, () => this.core.deleteNamespacedPod({ name, namespace: this.namespace }), undefined);
  }

  /**
   * The revision label value of a workload's pods (controller-revision-hash,
   * pod-template-hash), which its controller sets: what tells the first blue's
   * pods from green's, which share its app labels. During a rollout of blue
   * its pods have two: retried until it has finished.
   */
  async revision(w: Workload): Promise<string> {
    const label = REVISION_LABEL[this.kind];
    const values = [...new Set((await this.pods(w)).map((p) => p.metadata?.labels?.[label]).filter((v): v is string => !!v))];
    if (values.length !== 1) {
      throw ApplicationFailure.retryable(
        `${this.kind} ${w.metadata!.name} in ${this.where()} has pods of ${values.length} revisions (${label}: ${values.join(', ') || 'none'}); waiting for one`,
        'RolloutInProgress',
      );
    }
    return values[0]!;
  }

  readService(name = this.placement.service): Promise<V1Service> {
    return this.call(`reading Service ${name}`, () => this.core.readNamespacedService({ name, namespace: this.namespace }));
  }

  readServiceOrAbsent(name: string): Promise<V1Service | undefined> {
    return this.callOrAbsent(`reading Service ${name}`, () => this.core.readNamespacedService({ name, namespace: this.namespace }), undefined);
  }

  async patchService(name: string, body: object): Promise<void> {
    await this.call(`patching Service ${name}`, () => this.core.patchNamespacedService({ name, namespace: this.namespace, body }, MERGE_PATCH));
  }

  async patchServiceSelector(selector: Record<string, string | null>): Promise<void> {
    const name = this.placement.service;
    await this.call(`switching Service ${name}`, () =>
      this.core.patchNamespacedService({ name, namespace: this.namespace, body: { spec: { selector } } }, MERGE_PATCH),
    );
  }

  /** Creates a Service if absent (a retry finds it made). */
  async createService(body: V1Service): Promise<void> {
    await this.send(`creating Service ${body.metadata!.name}`, () => this.core.createNamespacedService({ namespace: this.namespace, body }), { 409: 'exists' });
  }

  async deleteService(name: string): Promise<void> {
    await this.callOrAbsent(`deleting Service ${name}`, () => this.core.deleteNamespacedService({ name, namespace: this.namespace }), undefined);
  }

  readRoute(name: string): Promise<HTTPRoute> {
    return this.call(`reading HTTPRoute ${name}`, () => this.custom.getNamespacedCustomObject({ ...GATEWAY, namespace: this.namespace, name }) as Promise<HTTPRoute>);
  }

  async patchRoute(name: string, body: object): Promise<void> {
    await this.call(`setting the weights of HTTPRoute ${name}`, () =>
      this.custom.patchNamespacedCustomObject({ ...GATEWAY, namespace: this.namespace, name, body }, MERGE_PATCH),
    );
  }

  /** A StatefulSet's claims are `<template>-<sts>-<ordinal>`; the selector narrows the list, the name decides; a claim another target's mark names stays. */
  async deleteClaims(sts: V1StatefulSet): Promise<string[]> {
    const name = sts.metadata!.name!;
    const templates = (sts.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata!.name!);
    if (templates.length === 0) return [];
    const labelSelector = releasePodSelector(sts.spec?.selector);
    const list = await this.call(`listing PersistentVolumeClaims of ${name}`, () =>
      this.core.listNamespacedPersistentVolumeClaim({ namespace: this.namespace, labelSelector }),
    );
    const ours = list.items
      .filter((c) => !this.objects.isOthers(c))
      .map((c) => c.metadata!.name!)
      .filter((c) => templates.some((t) => new RegExp(`^${t}-${name}-\\d+$`).test(c)));
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

const isReady = (p: V1Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

const podInfo = (p: V1Pod): PodInfo => ({
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

export function createKubernetesActivities(deps: KubernetesActivitiesDeps) {
  const configFor = deps.kubeConfigFor ?? defaultKubeConfig;
  const clients = new Map<string, { kc: KubeConfig; apps: AppsV1Api; core: CoreV1Api; custom: CustomObjectsApi }>();

  function cluster(target: string): Cluster {
    let placement: KubernetesPlacement | undefined;
    try {
      placement = deps.targets(target).kubernetes;
      if (!placement) throw new Error(`target '${target}' has no kubernetes section (namespace, workload, service) in the worker's configuration`);
      const key = `${placement.kubeconfig ?? ''}\0${placement.context ?? ''}`;
      if (!clients.has(key)) {
        const kc = withKeptAliveConnections(configFor(placement));
        clients.set(key, { kc, apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) });
      }
      const { kc, apps, core, custom } = clients.get(key)!;
      return new Cluster(target, placement, kc, apps, core, custom);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`Kubernetes configuration of target '${target}': ${(err as Error).message}`, 'Misconfigured');
    }
  }

  /**
   * Each release's share of the traffic now, largest first. With an
   * HTTPRoute: its backends' weights, by the release label of their Services;
   * else (or before cutover's first upgrade with a route) the release the
   * Service selects by release label, or without one the configured workload.
   */
  async function trafficShares(c: Cluster): Promise<[string, number][]> {
    if (c.placement.httpRoute) {
      const refs = (await c.readRoute(c.placement.httpRoute)).spec.rules?.[0]?.backendRefs ?? [];
      const shares = await Promise.all(
        refs.map(async (r): Promise<[string | undefined, number]> => [(await c.readServiceOrAbsent(r.name))?.metadata?.labels?.[RELEASE_LABEL], r.weight ?? 1]),
      );
      const released = shares.filter((s): s is [string, number] => !!s[0]).sort((a, b) => b[1] - a[1]);
      if (released.length) return released;
    }
    const selector = (await c.readService()).spec?.selector ?? {};
    return [[selector[RELEASE_LABEL] ?? c.placement.workload.name, 100]];
  }

  /** The workload that serves now: the largest share. */
  async function serving(c: Cluster): Promise<Workload> {
    return c.readWorkload((await trafficShares(c))[0]![0]);
  }

  /** Fails (not retried) unless the release's workload is the target's: an owner's scale or switch never reaches another's. */
  async function ownWorkload(c: Cluster, release: string): Promise<Workload> {
    const w = await c.readWorkload(release);
    if (!c.objects.isOurs(w)) throw c.objects.clash(c.kind, w);
    return w;
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

  /** Points the target's Service at one release's pods only (merge patch; nothing sent if it does already). */
  async function selectRelease(c: Cluster, w: Workload, service?: Promise<V1Service>): Promise<{ changed: boolean }> {
    const selector = (await (service ?? c.readService())).spec?.selector ?? {};
    const revision = RELEASE_LABEL in (w.spec?.selector.matchLabels ?? {}) ? undefined : await c.revision(w);
    const desired = serviceSelectorFor(selector, w, c.kind, revision);
    if (Object.entries(desired).every(([k, v]) => (v === null ? !(k in selector) : selector[k] === v))) return { changed: false };
    await c.patchServiceSelector(desired);
    return { changed: true };
  }

  /**
   * The Service an HTTPRoute sends one release's share to: the target
   * Service's ports, the release's pods only. With an owner it carries the
   * owner's marks, and one that exists must be the target's (adopt: the
   * serving release's, which the upgrade adopts with it).
   */
  async function ensureReleaseService(c: Cluster, w: Workload, owner?: string, adopt = false): Promise<void> {
    const release = releaseOf(w).name;
    const name = releaseServiceName(release);
    if (owner) {
      const existing = await c.readServiceOrAbsent(name);
      if (existing) {
        const adoption = adopt ? c.objects.adoption('Service', existing, owner, release) : undefined;
        if (adoption) await c.patchService(name, adoption);
        else if (!adopt && !c.objects.isOurs(existing)) throw c.objects.clash('Service', existing);
        return;
      }
    }
    const marks = owner ? c.objects.marks(owner) : { labels: {}, annotations: {} };
    const target = await c.readService();
    await c.createService({
      metadata: { name, labels: { ...marks.labels, [RELEASE_LABEL]: release }, annotations: marks.annotations },
      spec: {
        selector: releasePodLabels(w, c.kind, RELEASE_LABEL in (w.spec?.selector.matchLabels ?? {}) ? undefined : await c.revision(w)),
        ports: (target.spec?.ports ?? []).map(({ name, port, protocol, targetPort, appProtocol }) => ({ name, port, protocol, targetPort, appProtocol })),
      },
    });
  }

  /** Moves the HTTPRoute's backends (every rule's) to the releases' Services at their weights; resourceVersion-conditional. */
  async function setRouteWeights(c: Cluster, route: string, weights: [string, number][], owner?: string): Promise<{ changed: boolean }> {
    const current = await c.readRoute(route);
    const port = (await c.readService()).spec?.ports?.[0]?.port;
    for (const [release] of weights) await ensureReleaseService(c, await (owner ? ownWorkload(c, release) : c.readWorkload(release)), owner);
    const backendRefs: BackendRef[] = weights.map(([release, weight]) => ({ group: '', kind: 'Service', name: releaseServiceName(release), port, weight }));
    const rules = current.spec.rules ?? [{}];
    const same = (refs: BackendRef[] = []) =>
      refs.length === backendRefs.length && refs.every((r, i) => r.name === backendRefs[i]!.name && r.weight === backendRefs[i]!.weight && r.port === port);
    if (rules.every((r) => same(r.backendRefs))) return { changed: false };
    // A merge patch replaces the rules list whole; the resourceVersion makes a concurrent edit a 409 and a retry.
    await c.patchRoute(route, { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { rules: rules.map((r) => ({ ...r, backendRefs })) } });
    return { changed: true };
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
     * version. With an HTTPRoute, blue and green each get their Service.
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
      const blue = await serving(c);
      const existing = await c.readWorkload(input.green.name, true);
      if (owner) {
        if (c.objects.isOthers(blue)) throw c.objects.clash(c.kind, blue);
        if (existing && !c.objects.isOurs(existing)) throw c.objects.clash(c.kind, existing);
        if (c.placement.httpRoute) {
          const greenService = await c.readServiceOrAbsent(releaseServiceName(input.green.name));
          if (greenService && !c.objects.isOurs(greenService)) throw c.objects.clash('Service', greenService);
          const blueService = await c.readServiceOrAbsent(releaseServiceName(releaseOf(blue).name));
          if (blueService) c.objects.adoption('Service', blueService, owner, releaseOf(blue).name);
        }
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
      if (c.placement.httpRoute) {
        await ensureReleaseService(c, blue, owner, true);
        await ensureReleaseService(c, await c.readWorkload(input.green.name), owner);
      }
      return result;
    },

    /**
     * Follows the release's workload and pods by watch until every replica is
     * Ready, so traffic can move the moment the last pod is; heartbeats each
     * change (and every second) with what it waits for, and ends with
     * CancelledFailure when cancelled. The workflow bounds how long.
     */
    async waitWorkloadReady(input: { target: string; release: string }): Promise<ReadinessProgress> {
      const c = cluster(input.target);
      const first = await c.readWorkload(input.release);
      const selector = releasePodSelector(first.spec?.selector);
      let workloads!: Mirror<Workload>;
      let pods!: Mirror<V1Pod>;
      return followUntil<ReadinessProgress>({
        mirrors: ({ onChange, onError }) => {
          workloads = new Mirror<Workload>({
            kc: c.kc,
            path: c.workloadsPath(),
            fieldSelector: `metadata.name=${input.release}`,
            list: () => c.listWorkloads(input.release),
            onChange,
            onError,
          });
          pods = new Mirror<V1Pod>({ kc: c.kc, path: `/api/v1/namespaces/${c.namespace}/pods`, labelSelector: selector, list: () => c.listPods(selector), onChange, onError });
          return [workloads, pods];
        },
        check: () => {
          const w = workloads.items()[0];
          if (!w) throw ApplicationFailure.nonRetryable(`${c.kind} ${input.release} of target '${input.target}' was deleted while waiting for it`, 'NotFound');
          const { done, ...progress } = readiness(input.release, w, pods.items());
          heartbeat(progress);
          return done ? progress : undefined;
        },
        // A watch refused for good (rights, a deleted namespace) ends the wait; anything else is retried by the mirror.
        fatal: (err) => {
          const failure = c.failure(`watching ${input.release}`, err);
          return failure.nonRetryable ? failure : undefined;
        },
        cancelled: Context.current().cancelled,
      });
    },

    /**
     * Moves traffic to the releases at their weights. With the target's
     * HTTPRoute: its backendRefs, one Service per release. Without: the
     * Service's selector, which can only send everything to one release (its
     * release label, or for the first blue its controller's revision label,
     * so green's pods are never selected with it). Nothing is sent if it is so already.
     */
    async setWeights(input: { target: string; weights: Record<string, number>; owner?: string }): Promise<{ changed: boolean }> {
      const c = cluster(input.target);
      const serving = Object.entries(input.weights).filter(([, w]) => w > 0);
      if (c.placement.httpRoute) return setRouteWeights(c, c.placement.httpRoute, serving, input.owner);
      if (serving.length !== 1 || serving[0][1] !== 100) {
        throw ApplicationFailure.nonRetryable(
          `target '${input.target}' switches traffic with its Service selector, which cannot split ${JSON.stringify(input.weights)}: name an httpRoute in its kubernetes placement, or use traffic all-at-once`,
          'Invalid',
        );
      }
      // both reads at once: this runs the moment green is ready, every round trip counts
      const service = c.readService();
      service.catch(() => undefined); // awaited in selectRelease, unless the workload read fails first
      return selectRelease(c, await (input.owner ? ownWorkload(c, serving[0][0]) : c.readWorkload(serving[0][0])), service);
    },

    async scaleWorkload(input: { target: string; release: string; replicas: number; owner?: string }): Promise<{ changed: boolean }> {
      const c = cluster(input.target);
      if (input.owner) await ownWorkload(c, input.release);
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
      if (input.owner) await ownWorkload(c, input.release);
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
     * Deletes the release's workload (gone already: done), its Service of the
     * HTTPRoute if any, and, if the target's pvcPolicy is delete, its PVCs. The
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
      if (c.placement.httpRoute) {
        const name = releaseServiceName(input.release);
        const service = input.owner ? await c.readServiceOrAbsent(name) : undefined;
        if (!input.owner || (service && c.objects.isOurs(service))) await c.deleteService(name);
      }
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
     * of the traffic and its objects (the workload, its Service of the
     * HTTPRoute).
     */
    async listReleases(input: { target: string }): Promise<ReleaseObjects[]> {
      const c = cluster(input.target);
      const shares = new Map(await trafficShares(c));
      const [labelled, ...named] = await Promise.all([
        c.listLabelledWorkloads(`${TARGET_LABEL}=${input.target}`),
        ...[c.placement.workload.name, ...shares.keys()].map((name) => c.readWorkload(name, true)),
      ]);
      const byUid = new Map([...labelled.items, ...named].filter((w): w is Workload => !!w).map((w) => [w.metadata!.uid!, w]));
      return Promise.all(
        [...byUid.values()].map(async (w): Promise<ReleaseObjects> => {
          const { name, version } = releaseOf(w);
          const service = c.placement.httpRoute && (await c.readServiceOrAbsent(releaseServiceName(name)));
          const owner = c.objects.ownerOf(w);
          return {
            name,
            version,
            ...(owner ? { owner } : {}),
            weight: shares.get(name) ?? 0,
            objects: [`${c.kind} ${w.metadata!.name}`, ...(service ? [`Service ${service.metadata!.name}`] : [])],
          };
        }),
      );
    },
  } satisfies PlatformActivities;
}

export type KubernetesActivities = ReturnType<typeof createKubernetesActivities>;
