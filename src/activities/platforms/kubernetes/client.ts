/**
 * The Kubernetes client the platform and the routers share: one target's
 * cluster, namespace and workload kind over @kubernetes/client-node, each
 * request tried again at once after a transient failure and its errors said
 * as failures that name what, where and whether Temporal retries them. The
 * worker resolves the cluster and namespace from the target's configuration
 * when an activity runs; clients are kept per kubeconfig and context, with
 * their connections kept alive.
 */
import { ApplicationFailure } from '@temporalio/activity';
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
import type { KubernetesPlacement, TargetLookup } from '../../../config/targets';
import { releasePodSelector, REVISION_LABEL, type Workload } from '../../../domain/kubernetes';
import { isTransientStatus } from '../../../domain/retry';
import { tryAgainQuickly } from '../../transient';
import { withKeptAliveConnections } from './keptAliveConnections';
import { TargetObjects } from './ownership';

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

/** A namespaced custom resource a router writes (an HTTPRoute, a VirtualService). */
export interface CustomResource {
  group: string;
  version: string;
  plural: string;
  /** Its kind, for messages. */
  kind: string;
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** One target's cluster, namespace and workload kind; turns API errors into failures that say what and where. */
export class Cluster {
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

  where(): string {
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

  /** Fails (not retried) unless the release's workload is the target's: an owner's scale or switch never reaches another's. */
  async ownWorkload(release: string): Promise<Workload> {
    const w = await this.readWorkload(release);
    if (!this.objects.isOurs(w)) throw this.objects.clash(this.kind, w);
    return w;
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

  /** A merge patch of a Service; answers the Service as the API server stored it. */
  patchService(name: string, body: object, what = `patching Service ${name}`): Promise<V1Service> {
    return this.call(what, () => this.core.patchNamespacedService({ name, namespace: this.namespace, body }, MERGE_PATCH));
  }

  /** Creates a Service if absent (a retry finds it made). */
  async createService(body: V1Service): Promise<void> {
    await this.send(`creating Service ${body.metadata!.name}`, () => this.core.createNamespacedService({ namespace: this.namespace, body }), { 409: 'exists' });
  }

  async deleteService(name: string): Promise<void> {
    await this.callOrAbsent(`deleting Service ${name}`, () => this.core.deleteNamespacedService({ name, namespace: this.namespace }), undefined);
  }

  readCustom<T>(r: CustomResource, name: string): Promise<T> {
    return this.call(`reading ${r.kind} ${name}`, () => this.custom.getNamespacedCustomObject({ ...r, namespace: this.namespace, name }) as Promise<T>);
  }

  /** A merge patch of a custom object; answers it as the API server stored it. */
  patchCustom<T>(r: CustomResource, name: string, body: object, what: string): Promise<T> {
    return this.call(what, () => this.custom.patchNamespacedCustomObject({ ...r, namespace: this.namespace, name, body }, MERGE_PATCH) as Promise<T>);
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

export interface ClustersDeps {
  targets: TargetLookup;
  /** The client configuration for a placement; default: its kubeconfig file and context, else in-cluster or KUBECONFIG. */
  kubeConfigFor?: (placement: KubernetesPlacement) => KubeConfig;
}

/** A target's Cluster, from its kubernetes placement; a target without one is Misconfigured (not retried). */
export type Clusters = (target: string) => Cluster;

/** Clients per kubeconfig and context, made once and kept (with their connections) for every target on them. */
export function kubernetesClusters(deps: ClustersDeps): Clusters {
  const configFor = deps.kubeConfigFor ?? defaultKubeConfig;
  const clients = new Map<string, { kc: KubeConfig; apps: AppsV1Api; core: CoreV1Api; custom: CustomObjectsApi }>();
  return (target) => {
    try {
      const placement = deps.targets(target).kubernetes;
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
  };
}
