/**
 * Kong on Kubernetes: a migrations command is a Job running the version's
 * image (`kong migrations <command>`) with the database settings in Kong's
 * KONG_PG_* variables, the password from a Secret reference; the Job is
 * named after target, command and version, so a retried activity finds it
 * instead of starting a second one (a failed one is replaced: that is the
 * retry). A release's nodes are its pods (label cutover.io/release).
 */
import { heartbeat, sleep } from '@temporalio/activity';
import { ApiException, BatchV1Api, CoreV1Api, type KubeConfig, type V1EnvVar, type V1Job } from '@kubernetes/client-node';
import type { KubernetesPlacement } from '../../config/targets';
import type { CommandRun } from '../../domain/kong/local';
import type { MigrationsCommand } from '../../domain/kong/migrations';
import type { KongAccess } from '../../domain/kong/schema';
import { RELEASE_LABEL } from '../../domain/kubernetes';
import { releaseName } from '../../domain/upgrade';
import { defaultKubeConfig } from '../platforms/kubernetes';
import type { KongPlatform } from './targets';

export const TARGET_LABEL = 'cutover.io/target';

/** The Job of one migrations command (pure; tests read it). */
export function migrationJob(o: { target: string; namespace: string; access: KongAccess; version: string; command: MigrationsCommand; force?: boolean }): V1Job {
  const d = o.access.database;
  const name = releaseName(`${o.target}-migrations-${o.command}`, o.version);
  const password: V1EnvVar = d.passwordSecret
    ? { name: 'KONG_PG_PASSWORD', valueFrom: { secretKeyRef: { name: d.passwordSecret.name, key: d.passwordSecret.key } } }
    : { name: 'KONG_PG_PASSWORD', valueFrom: { secretKeyRef: { name: `${o.target}-kong-database`, key: 'password' } } };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: o.namespace, labels: { [TARGET_LABEL]: o.target, 'app.kubernetes.io/managed-by': 'cutover', 'app.kubernetes.io/component': 'migrations' } },
    spec: {
      // cutover retries (with a new Job), so the Job itself runs once: a retried `up` must see `list` first.
      backoffLimit: 0,
      ttlSecondsAfterFinished: 7 * 24 * 3600,
      template: {
        metadata: { labels: { [TARGET_LABEL]: o.target, 'job-name': name } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'kong-migrations',
              image: `${o.access.image ?? 'kong/kong-gateway'}:${o.version}`,
              command: ['kong', 'migrations', o.command, ...(o.force ? ['-f'] : [])],
              env: [
                { name: 'KONG_DATABASE', value: 'postgres' },
                { name: 'KONG_PG_HOST', value: d.host },
                { name: 'KONG_PG_PORT', value: String(d.port ?? 5432) },
                { name: 'KONG_PG_DATABASE', value: d.database ?? 'kong' },
                { name: 'KONG_PG_USER', value: d.user },
                password,
              ],
            },
          ],
        },
      },
    },
  };
}

const notFound = (err: unknown) => err instanceof ApiException && err.code === 404;

export function kubernetesKong(o: {
  target: string;
  placement: KubernetesPlacement;
  access: KongAccess;
  kubeConfigFor?: (p: KubernetesPlacement) => KubeConfig;
  pollMs: number;
}): KongPlatform {
  const kc = (o.kubeConfigFor ?? defaultKubeConfig)(o.placement);
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = o.placement.namespace;

  async function logs(job: string): Promise<{ output: string[]; exitCode?: number }> {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` });
    const pod = pods.items.at(-1);
    if (!pod) return { output: [] };
    const exitCode = pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
    const text = await core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace, tailLines: 20 }).catch(() => '');
    return { output: String(text).split('\n').filter(Boolean), exitCode };
  }

  return {
    async run(i): Promise<CommandRun> {
      const manifest = migrationJob({ target: o.target, namespace, access: o.access, version: i.version, command: i.command, force: i.force });
      const name = manifest.metadata!.name!;
      let job = await batch.readNamespacedJob({ name, namespace }).catch((err) => (notFound(err) ? undefined : Promise.reject(err)));
      if (job?.status?.failed) {
        // A failed Job is an earlier attempt: this attempt replaces it.
        await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' });
        while (await batch.readNamespacedJob({ name, namespace }).then(() => true, (err) => (notFound(err) ? false : Promise.reject(err)))) await sleep(o.pollMs);
        job = undefined;
      }
      job ??= await batch.createNamespacedJob({ namespace, body: manifest });
      for (;;) {
        const s = job.status ?? {};
        heartbeat({ job: name, active: s.active ?? 0, succeeded: s.succeeded ?? 0, failed: s.failed ?? 0 });
        if (s.succeeded || s.failed) {
          const l = await logs(name);
          return { exitCode: s.succeeded ? 0 : (l.exitCode ?? 1), output: [`job ${namespace}/${name}`, ...l.output] };
        }
        await sleep(o.pollMs);
        job = await batch.readNamespacedJob({ name, namespace });
      }
    },

    async nodes(release) {
      const ports = o.access.nodePorts ?? { proxy: 8000, status: 8100 };
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `${RELEASE_LABEL}=${release}` });
      return pods.items
        .filter((p) => p.status?.podIP && !p.metadata?.deletionTimestamp)
        .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }))
        .map((p) => ({ pod: p.metadata!.name!, proxyUrl: `http://${p.status!.podIP}:${ports.proxy}`, statusUrl: `http://${p.status!.podIP}:${ports.status}` }));
    },
  };
}
