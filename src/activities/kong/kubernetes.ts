/**
 * Kong on Kubernetes: a migrations command is a Job running the version's
 * image (`kong migrations <command>`) with what blue's pods use to reach and
 * extend their database (see migrationJob) and the database settings of the
 * target's config in Kong's KONG_PG_* variables, the password from a Secret
 * reference; the Job is named after target, command and version, so a
 * retried activity finds it running instead of starting a second one. A
 * finished Job is an earlier attempt and is replaced: a failed one is what
 * the retry is for, a `list` or `status` answered the past, and an `up` that
 * completed while `list` still shows the work (the lock trap's exit 0) did
 * nothing. The exit code is the pod's container's, the output its log. A
 * release's nodes are the pods its workload selects. A Job carries its owner
 * (the target's label, the upgrade's annotation); one of that name that is not
 * the target's is never replaced: the command fails, naming its owner.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Container,
  type V1EnvVar,
  type V1Job,
  type V1Pod,
  type V1PodSpec,
  type V1Volume,
} from '@kubernetes/client-node';
import type { KubernetesPlacement } from '../../config/targets';
import type { CommandRun, KongNodeAddress } from '../../domain/kong/local';
import type { MigrationsCommand } from '../../domain/kong/migrations';
import type { KongAccess } from '../../domain/kong/schema';
import { releasePodSelector, type Workload } from '../../domain/kubernetes';
import { NOT_OWNED, notOurs, ownerMarks, ownerOfMarks } from '../../domain/ownership';
import { legacyReleaseName, upgradeIdOf } from '../../domain/upgrade';
import { apiServerMessage, defaultKubeConfig, kubernetesFailure } from '../platforms/kubernetes/client';
import { followUntil, Mirror } from '../platforms/kubernetes/mirror';
import type { KongPlatform } from './platform';

/**
 * A Job's name is a label value on its pods (63 characters at most); a
 * longer one keeps its start and gets a hash of the whole, so `up` and
 * `finish`, or two versions, never share a Job.
 */
export function migrationJobName(target: string, command: MigrationsCommand, version: string): string {
  const name = legacyReleaseName(`${target}-migrations-${command}`, version);
  if (name.length < 62) return name; // nothing was cut
  const hash = createHash('sha256').update(`${target}\0${command}\0${version}`).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

const CONTAINER = 'kong-migrations';
/** What the Job sets from the target's config: which database cutover froze, backed up and checks is the one the Job migrates. */
const FROM_CONFIG = ['KONG_DATABASE', 'KONG_PG_HOST', 'KONG_PG_PORT', 'KONG_PG_DATABASE', 'KONG_PG_USER', 'KONG_PG_PASSWORD'];

/** Blue's Kong container: the one with the migration image's repository, else Kong's chart's `proxy`, else the first with Kong's settings, else the first. */
export function kongContainer(spec: V1PodSpec, image: string): V1Container | undefined {
  const repository = (i?: string) => i?.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  const cs = spec.containers;
  return (
    cs.find((c) => repository(c.image) === repository(image)) ??
    cs.find((c) => c.name === 'proxy') ??
    cs.find((c) => (c.env ?? []).some((e) => e.name.startsWith('KONG_')) || (c.envFrom ?? []).length > 0) ??
    cs[0]
  );
}

/**
 * What blue's pods use to reach and extend their database, for the Job: the
 * Kong container's env (KONG_PLUGINS, KONG_LUA_PACKAGE_PATH, KONG_PG_SSL*,
 * KONG_PG_SCHEMA, KONG_PG_TIMEOUT, a vault reference... values and
 * valueFrom references as they are, never resolved) but the database settings
 * cutover sets from its config, its envFrom (ConfigMaps and Secrets by
 * reference), its volume mounts and the pod's volumes they name (plugin code,
 * CA certificates; not a PersistentVolumeClaim, which blue's node may hold),
 * and the pod's imagePullSecrets, service account and security contexts
 * (Kong Enterprise's image, a vault through the service account's identity,
 * files readable as the pods read them).
 */
function fromBlue(blue: V1PodSpec | undefined, image: string): { container: Partial<V1Container>; pod: Partial<V1PodSpec> } {
  const c = blue && kongContainer(blue, image);
  if (!blue || !c) return { container: {}, pod: {} };
  const claims = new Set((blue.volumes ?? []).filter((v) => v.persistentVolumeClaim).map((v) => v.name));
  const mounts = (c.volumeMounts ?? []).filter((m) => !claims.has(m.name));
  const volumes = (blue.volumes ?? []).filter((v) => mounts.some((m) => m.name === v.name));
  // a resource reference names its container, which is the Job's own here
  const env = (c.env ?? [])
    .filter((e) => !FROM_CONFIG.includes(e.name))
    .map((e) => (e.valueFrom?.resourceFieldRef?.containerName ? { ...e, valueFrom: { resourceFieldRef: { ...e.valueFrom.resourceFieldRef, containerName: CONTAINER } } } : e));
  const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && !v.length))) as Partial<T>;
  return {
    container: defined({ env, envFrom: c.envFrom, volumeMounts: mounts, securityContext: c.securityContext }),
    pod: defined({
      volumes: volumes as V1Volume[],
      imagePullSecrets: blue.imagePullSecrets,
      serviceAccountName: blue.serviceAccountName,
      automountServiceAccountToken: blue.automountServiceAccountToken,
      securityContext: blue.securityContext,
    }),
  };
}

/** The Job of one migrations command (pure; tests read it), with what blue's pod spec `blue` gives it. */
export function migrationJob(o: {
  target: string;
  namespace: string;
  access: KongAccess;
  version: string;
  command: MigrationsCommand;
  force?: boolean;
  /** Blue's pod spec: what the Job takes from it. */
  blue?: V1PodSpec;
  /** The upgrade that runs it (its id), recorded as the Job's owner. */
  upgrade?: string;
}): V1Job {
  const d = o.access.database;
  const name = migrationJobName(o.target, o.command, o.version);
  const marks = ownerMarks({ target: o.target, upgrade: o.upgrade });
  const labels = { ...marks.labels, 'app.kubernetes.io/component': 'migrations' };
  const password: V1EnvVar = d.passwordSecret
    ? { name: 'KONG_PG_PASSWORD', valueFrom: { secretKeyRef: { name: d.passwordSecret.name, key: d.passwordSecret.key } } }
    : { name: 'KONG_PG_PASSWORD', valueFrom: { secretKeyRef: { name: `${o.target}-kong-database`, key: 'password' } } };
  const image = `${o.access.image ?? 'kong/kong-gateway'}:${o.version}`;
  const blue = fromBlue(o.blue, image);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: o.namespace, labels, annotations: marks.annotations },
    spec: {
      // cutover retries (with a new Job), so the Job itself runs once: a retried `up` must see `list` first.
      backoffLimit: 0,
      ttlSecondsAfterFinished: 7 * 24 * 3600,
      template: {
        metadata: { labels },
        spec: {
          ...blue.pod,
          restartPolicy: 'Never',
          containers: [
            {
              ...blue.container,
              name: CONTAINER,
              image,
              command: ['kong', 'migrations', o.command, ...(o.force ? ['-f'] : [])],
              // a kubelet keeps the log's tail as the termination message of a failed container, for when the log is gone
              terminationMessagePolicy: 'FallbackToLogsOnError',
              // first, so that blue's own variables may refer to them as $(KONG_PG_HOST)
              env: [
                { name: 'KONG_DATABASE', value: 'postgres' },
                { name: 'KONG_PG_HOST', value: d.host },
                { name: 'KONG_PG_PORT', value: String(d.port ?? 5432) },
                { name: 'KONG_PG_DATABASE', value: d.database ?? 'kong' },
                { name: 'KONG_PG_USER', value: d.user },
                password,
                ...(blue.container.env ?? []),
              ],
            },
          ],
        },
      },
    },
  };
}

const status = (code: number) => (err: unknown) => err instanceof ApiException && err.code === code;
const notFound = status(404);

/** Complete or Failed once the Job controller has decided; undefined while it runs. */
const outcome = (job: V1Job) => job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type as 'Complete' | 'Failed' | undefined;

export function kubernetesKong(o: {
  target: string;
  placement: KubernetesPlacement;
  access: KongAccess;
  kubeConfigFor?: (p: KubernetesPlacement) => KubeConfig;
}): KongPlatform {
  const kc = (o.kubeConfigFor ?? defaultKubeConfig)(o.placement);
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const namespace = o.placement.namespace;
  const where = `namespace ${namespace} of target '${o.target}'`;
  /** The API server's errors said as the platform's are: 5xx, 408, 429, 409 and no answer retried; 401/403, 404, 422 not. */
  const classified = <T>(what: string, work: Promise<T>): Promise<T> =>
    work.catch((err: unknown) => {
      throw err instanceof ApplicationFailure ? err : kubernetesFailure(what, where, err);
    });
  /** A release's workload (the first blue is the configured one), or undefined once it is gone. */
  const readWorkload = (name: string): Promise<Workload | undefined> =>
    (o.placement.workload.kind === 'StatefulSet' ? apps.readNamespacedStatefulSet({ name, namespace }) : apps.readNamespacedDeployment({ name, namespace })).catch((err: unknown) =>
      notFound(err) ? undefined : Promise.reject(err),
    );
  const readJob = (name: string) => batch.readNamespacedJob({ name, namespace }).catch((err) => (notFound(err) ? undefined : Promise.reject(err)));

  /**
   * Follows the Job by watch (from its list's resourceVersion) until `until`
   * answers, asked at each change of it (undefined once it is gone) and every
   * second, which heartbeats.
   */
  function followJob<R>(name: string, until: (job: V1Job | undefined) => R | undefined): Promise<R> {
    const fieldSelector = `metadata.name=${name}`;
    let jobs!: Mirror<V1Job>;
    return followUntil<R>({
      mirrors: ({ onChange, onError }) => {
        jobs = new Mirror<V1Job>({
          kc,
          path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
          fieldSelector,
          list: () => batch.listNamespacedJob({ namespace, fieldSelector }),
          onChange,
          onError,
        });
        return [jobs];
      },
      check: () => until(jobs.items()[0]),
      // a watch that timed out (the client ends one quiet for 30 s) or failed in passing resumes; a refused one fails the attempt
      fatal: (err) => {
        const failure = kubernetesFailure(`watching job ${name}`, where, err);
        return failure.nonRetryable ? failure : undefined;
      },
      cancelled: Context.current().cancelled,
    });
  }

  /** This Job's pod, by the Job's uid: a pod of an earlier Job of the same name may still be terminating. */
  async function podOf(job: V1Job): Promise<V1Pod | undefined> {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `controller-uid=${job.metadata!.uid}` });
    return pods.items.sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp))).at(-1);
  }

  /** The container's exit code and its log's last lines; where the log is not to be had, why, and the kubelet's termination message. */
  async function result(job: V1Job): Promise<CommandRun> {
    const name = job.metadata!.name!;
    const pod = await podOf(job);
    const terminated = pod?.status?.containerStatuses?.find((c) => c.name === CONTAINER)?.state?.terminated;
    const head = `job ${namespace}/${name}`;
    // a Job can fail without its container exiting (deadline, eviction): no code of Kong's, an error
    const exitCode = terminated?.exitCode ?? (outcome(job) === 'Complete' ? 0 : 1);
    if (!pod) return { exitCode, output: [head, `no pod of job ${name} is left to read its log from (${job.status?.conditions?.map((c) => c.reason ?? c.type).join(', ') ?? 'no conditions'})`] };
    const podName = pod.metadata!.name!;
    try {
      const text = await core.readNamespacedPodLog({ name: podName, namespace, container: CONTAINER, tailLines: 50 });
      return { exitCode, output: [head, ...String(text).split('\n').filter(Boolean)] };
    } catch (err) {
      const why = err instanceof ApiException ? `HTTP ${err.code}: ${apiServerMessage(err)}` : (err as Error).message;
      const message = terminated?.message?.split('\n').filter(Boolean) ?? [];
      return { exitCode, output: [head, `log of pod ${podName} unavailable (${why})${message.length ? '; its termination message:' : ''}`, ...message] };
    }
  }

  /** Deletes the Job and its pod, and waits until the name is free. */
  async function remove(name: string): Promise<void> {
    await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' }).catch((err) => (notFound(err) ? undefined : Promise.reject(err)));
    await followJob(name, (job) => {
      if (!job) return true;
      heartbeat({ job: name, replacing: true });
      return undefined;
    });
  }

  return {
    run: (i) => classified(`kong migrations ${i.command} as a Job`, runJob(i)),
    nodes: (release) => classified(`finding the nodes of ${release}`, nodesOf(release)),
  };

  async function runJob(i: Parameters<KongPlatform['run']>[0]): Promise<CommandRun> {
    // an upgrade started before cutover named blue: the configured workload, which is blue until a first upgrade succeeds
    const blue = await readWorkload(i.blue ?? o.placement.workload.name);
    // the upgrade whose activity runs it owns the Job
    const runId = Context.current().info.workflowExecution?.runId;
    const upgrade = runId && upgradeIdOf(o.target, runId);
    const manifest = migrationJob({ target: o.target, namespace, access: o.access, version: i.version, command: i.command, force: i.force, blue: blue?.spec?.template.spec, upgrade });
    const name = manifest.metadata!.name!;
    // a Job of this name that is not the target's is neither followed nor replaced
    const ours = (job: V1Job | undefined): V1Job | undefined => {
      const owner = ownerOfMarks(job?.metadata);
      if (job && owner?.target !== o.target) throw ApplicationFailure.nonRetryable(notOurs(`job ${namespace}/${name}`, owner, o.target), NOT_OWNED);
      return job;
    };
    let job = ours(await readJob(name));
    if (job && outcome(job)) {
      await remove(name);
      job = undefined;
    }
    job ??= await batch.createNamespacedJob({ namespace, body: manifest }).catch(async (err: unknown): Promise<V1Job> => {
      const raced = status(409)(err) ? ours(await readJob(name)) : undefined; // another attempt created it just now
      if (!raced) throw err;
      return raced;
    });
    const uid = job.metadata!.uid;
    const done = await followJob(name, (now) => {
      // deleted (or replaced) by someone else while it ran: the retry starts it again
      if (!now || now.metadata?.uid !== uid) throw ApplicationFailure.retryable(`job ${namespace}/${name} was deleted while it ran`, 'JobDeleted');
      const s = now.status ?? {};
      heartbeat({ job: name, active: s.active ?? 0, succeeded: s.succeeded ?? 0, failed: s.failed ?? 0 });
      return outcome(now) ? now : undefined;
    });
    return result(done);
  }

  /** The pods the release's workload selects (the first blue's carry no release label); none once it is gone. */
  async function nodesOf(release: string): Promise<KongNodeAddress[]> {
    const ports = o.access.nodePorts ?? { proxy: 8000, status: 8100 };
    const w = await readWorkload(release);
    if (!w) return [];
    const pods = await core.listNamespacedPod({ namespace, labelSelector: releasePodSelector(w.spec?.selector) });
    return pods.items
      .filter((p) => p.status?.podIP && !p.metadata?.deletionTimestamp)
      .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }))
      .map((p) => ({ pod: p.metadata!.name!, proxyUrl: `http://${p.status!.podIP}:${ports.proxy}`, statusUrl: `http://${p.status!.podIP}:${ports.status}` }));
  }
}
