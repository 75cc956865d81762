/**
 * The test control plane's kubelet for Kong migration Jobs, a stand-in at the
 * network edge only: KWOK starts every pod, and a migration Job's pod (owned by
 * a Job, labelled app.kubernetes.io/component=migrations) then runs until this
 * kubelet has run its container's command for real: `kong migrations <cmd>` of
 * the image's tag as the sandbox gateway's migrations CLI, with the pod's
 * KONG_PG_* environment (a secretKeyRef resolved from its Secret, as a kubelet
 * does) against a real PostgreSQL. It keeps the output as the container's log
 * (a KWOK `Logs` object names the file; the API server reads it through KWOK
 * as from a kubelet) and annotates the exit code, which KWOK's
 * pod-migrations-exit stage turns into the container's termination: the real
 * Job controller then marks the Job Complete or Failed.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { MIGRATIONS_COMMANDS, type MigrationsCommand } from '../../src/domain/kong/migrations';
import { runMigrationsProcess, type MigrationsRun } from '../../src/sandbox/kong/launcher';
import { containerEnv, imageVersion, kongDatabaseOf } from './podEnv';

export const EXIT_CODE_ANNOTATION = 'kubelet.test.cutover.io/exit-code';
const MESSAGE_ANNOTATION = 'kubelet.test.cutover.io/termination-message';

/** What the kubelet ran for one pod, as the container saw it. */
export interface ContainerRun {
  pod: string;
  image: string;
  command: string[];
  /** The environment as the container got it, secrets resolved. */
  env: Record<string, string>;
  exitCode: number;
  output: string[];
}

export class MigrationKubelet {
  readonly runs: ContainerRun[] = [];
  /** false: keeps no logs, as a node whose log files are gone (KWOK then has none to serve). */
  keepLogs = true;
  /** Waits before a command runs (e.g. to let a test change the database in between); none by default. */
  beforeRun: (pod: V1Pod) => Promise<void> = async () => undefined;
  private readonly started = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private timer?: NodeJS.Timeout;
  private errors: Error[] = [];

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly logDir: string,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    mkdirSync(logDir, { recursive: true });
  }

  start(pollMs = 100): this {
    const tick = async (): Promise<void> => {
      const pods = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: 'app.kubernetes.io/component=migrations' }).catch(() => ({ items: [] as V1Pod[] }));
      for (const pod of pods.items) {
        const uid = pod.metadata!.uid!;
        if (pod.status?.phase !== 'Running' || pod.metadata?.deletionTimestamp || pod.metadata?.annotations?.[EXIT_CODE_ANNOTATION] || this.started.has(uid)) continue;
        this.started.add(uid);
        const p = this.runPod(pod).catch((err: Error) => void this.errors.push(err));
        this.pending.add(p);
        void p.finally(() => this.pending.delete(p));
      }
      if (this.timer) this.timer = setTimeout(() => void tick(), pollMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
    return this;
  }

  /** Stops watching once every command it started has ended; rejects with what went wrong in the kubelet itself. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.pending);
    if (this.errors.length) throw new Error(`test kubelet: ${this.errors.map((e) => e.message).join('; ')}`);
  }

  private async runPod(pod: V1Pod): Promise<void> {
    const name = pod.metadata!.name!;
    const container = pod.spec!.containers[0];
    const image = container.image!;
    const command = container.command ?? [];
    const env = await containerEnv(this.core, this.namespace, container);
    await this.beforeRun(pod);
    const run = await this.execute(image, command, env);
    this.runs.push({ pod: name, image, command, env, ...run });
    if (this.keepLogs) await this.keepLog(name, container.name, run.output);
    const annotations: Record<string, string> = { [EXIT_CODE_ANNOTATION]: String(run.exitCode) };
    // as a kubelet does for FallbackToLogsOnError: a failed container's last log lines (80 lines, 2048 bytes at most)
    if (run.exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') {
      annotations[MESSAGE_ANNOTATION] = Buffer.from(run.output.slice(-80).join('\n')).subarray(-2048).toString();
    }
    await this.core.patchNamespacedPod({ name, namespace: this.namespace, body: { metadata: { annotations } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }

  /** The output as the container's log: a file in CRI's log format (what KWOK reads, as a kubelet reads a runtime's) and a KWOK Logs object naming it. */
  private async keepLog(pod: string, container: string, output: string[]): Promise<void> {
    const logsFile = join(this.logDir, `${this.namespace}_${pod}_${container}.log`);
    const at = new Date().toISOString();
    appendFileSync(logsFile, output.map((l) => `${at} stdout F ${l}\n`).join(''));
    await this.custom.createNamespacedCustomObject({
      group: 'kwok.x-k8s.io',
      version: 'v1alpha1',
      namespace: this.namespace,
      plural: 'logs',
      body: { apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Logs', metadata: { name: pod, namespace: this.namespace }, spec: { logs: [{ containers: [container], logsFile }] } },
    });
  }

  /** `kong migrations <command> [-f]` of the image's version, as the sandbox gateway's CLI. */
  private async execute(image: string, command: string[], env: Record<string, string>): Promise<MigrationsRun> {
    const [kong, migrations, sub, ...flags] = command;
    if (kong !== 'kong' || migrations !== 'migrations' || !MIGRATIONS_COMMANDS.includes(sub as MigrationsCommand) || flags.some((f) => f !== '-f')) {
      return { exitCode: 127, output: [`test kubelet: cannot run ${JSON.stringify(command)}`] };
    }
    return runMigrationsProcess({ version: imageVersion(image), command: sub as MigrationsCommand, db: kongDatabaseOf(env), force: flags.includes('-f') });
  }
}
