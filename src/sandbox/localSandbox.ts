/**
 * One local sandbox target: releases of sandbox EMQX nodes (processes of
 * ./emqx/node.ts, one cluster on one backplane) and nginx routing MQTT to the
 * serving release. What it should run (releases, replicas, node ports, the
 * serving release) is recorded in a JSON state file, written atomically before
 * processes are started or stopped, so a restart (of `npm start`, or after a
 * crash) brings back exactly the recorded state and a retried change is not
 * applied twice. Changes are serialised: one at a time per sandbox.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalPlacement, TargetConfig } from '../config/targets';
import { emqxNodeName } from '../domain/emqx';
import { releaseName } from '../domain/upgrade';
import { freePort } from '../runtime/freePort';
import { SANDBOX_API_KEY, SANDBOX_API_SECRET, startSandboxCluster, type SandboxCluster, type SandboxNode } from './emqx/launcher';
import { Nginx } from './nginx';

export interface ReleaseRecord {
  version: string;
  replicas: number;
  /** Ports per ordinal; kept when scaled down, so a node that comes back gets its own again. */
  ports: { mqtt: number; api: number }[];
}

export interface SandboxState {
  /** The release nginx sends MQTT clients to. */
  service: string;
  releases: Record<string, ReleaseRecord>;
}

export interface LocalSandboxOptions {
  target: string;
  placement: LocalPlacement;
  /** State file, node logs and the backplane go under dataDir/sandbox/<cluster>; nginx under dataDir/nginx/<cluster>. */
  dataDir: string;
  /** How the target's EMQX names a pod's node (its emqx.nodeName). */
  nodeName?: string;
  apiKey: string;
  apiSecret: string;
}

export const podName = (release: string, ordinal: number): string => `${release}-${ordinal}`;

export class LocalSandbox {
  readonly nginx: Nginx;
  private readonly dir: string;
  private readonly stateFile: string;
  private state: SandboxState | undefined;
  private cluster: SandboxCluster | undefined;
  private readonly nodes = new Map<string, SandboxNode>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: LocalSandboxOptions) {
    this.dir = join(o.dataDir, 'sandbox', o.placement.cluster);
    this.stateFile = join(this.dir, 'state.json');
    this.nginx = new Nginx(join(o.dataDir, 'nginx', o.placement.cluster));
  }

  get target(): string {
    return this.o.target;
  }

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.o.placement.nginx.mqttPort}`;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.o.placement.nginx.apiPort}`;
  }

  get statusUrl(): string {
    return `http://127.0.0.1:${this.o.placement.nginx.statusPort}/status`;
  }

  /** The recorded state, or on the very first start one release of the configured version and replicas serving. */
  private load(): SandboxState {
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as SandboxState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`sandbox state ${this.stateFile} is unreadable: ${(err as Error).message}`, { cause: err });
      const { version, replicas } = this.o.placement;
      const first = releaseName(this.o.target, version);
      return { service: first, releases: { [first]: { version, replicas, ports: [] } } };
    }
  }

  private save(): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2) + '\n');
    renameSync(tmp, this.stateFile);
  }

  /** Brings the sandbox to its recorded state: backplane, every release's nodes, nginx. */
  start(): Promise<void> {
    return this.serial(async () => {
      this.state = this.load();
      this.cluster ??= await startSandboxCluster({
        name: this.o.placement.cluster,
        nodes: [],
        dir: join(this.dir, 'nodes'),
        apiKey: this.o.apiKey,
        apiSecret: this.o.apiSecret,
      });
      await this.reconcile();
    });
  }

  /** Stops nginx, the nodes and the backplane; the state file stays for the next start. */
  stop(): Promise<void> {
    return this.serial(async () => {
      await this.nginx.stop();
      await this.cluster?.stop();
      this.cluster = undefined;
      this.nodes.clear();
    });
  }

  /** Runs one change after the other, so two activities never interleave their read-modify-write of the state. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private current(): SandboxState {
    if (!this.state || !this.cluster) throw new Error(`the local sandbox of target '${this.o.target}' is not running in this worker`);
    return this.state;
  }

  /** Reads under the lock, so a reader never sees a change half applied. */
  read<T>(fn: (s: SandboxState) => T): Promise<T> {
    return this.serial(async () => fn(structuredClone(this.current())));
  }

  /** Restarts nodes that died, as a StatefulSet controller would. */
  heal(): Promise<void> {
    return this.serial(() => this.reconcile());
  }

  /** Applies a change to the state, records it, then makes processes and nginx match. */
  change<T>(fn: (s: SandboxState) => T): Promise<T> {
    return this.serial(async () => {
      const s = this.current();
      const result = fn(s);
      this.save();
      await this.reconcile();
      return result;
    });
  }

  /** Pods of a release in ordinal order; ready while its node process runs. */
  pods(release: string): { name: string; ready: boolean }[] {
    const r = this.current().releases[release];
    if (!r) return [];
    return Array.from({ length: r.replicas }, (_, i) => {
      const n = this.nodes.get(podName(release, i));
      return { name: podName(release, i), ready: !!n && n.process.exitCode === null && n.process.signalCode === null };
    });
  }

  private desired(): Map<string, { release: string; version: string; ordinal: number; ports: { mqtt: number; api: number } }> {
    const want = new Map<string, { release: string; version: string; ordinal: number; ports: { mqtt: number; api: number } }>();
    for (const [release, r] of Object.entries(this.current().releases)) {
      for (let i = 0; i < r.replicas; i++) want.set(podName(release, i), { release, version: r.version, ordinal: i, ports: r.ports[i]! });
    }
    return want;
  }

  /** Stops nodes that should not run (highest ordinal first, as a StatefulSet does), starts those missing or dead, then routes. */
  private async reconcile(): Promise<void> {
    const s = this.current();
    for (const r of Object.values(s.releases)) {
      while (r.ports.length < r.replicas) r.ports.push({ mqtt: await freePort(), api: await freePort() });
    }
    this.save();
    const want = this.desired();
    const running = [...this.nodes.entries()].sort(([a], [b]) => b.localeCompare(a, 'en', { numeric: true }));
    for (const [pod, node] of running) {
      const w = want.get(pod);
      const dead = node.process.exitCode !== null || node.process.signalCode !== null;
      if (w && !dead && w.version === node.version) continue;
      await node.stop();
      this.nodes.delete(pod);
    }
    const missing = [...want.entries()].filter(([pod]) => !this.nodes.has(pod));
    await Promise.all(
      missing.map(async ([pod, w]) => {
        const node = await this.cluster!.addNode({
          name: emqxNodeName(this.o.nodeName ?? 'emqx@{pod}', pod),
          version: w.version,
          mqttPort: w.ports.mqtt,
          apiPort: w.ports.api,
        });
        this.nodes.set(pod, node);
      }),
    );
    const serving = s.releases[s.service];
    const { mqttPort, apiPort, statusPort } = this.o.placement.nginx;
    await this.nginx.apply({
      mqttPort,
      apiPort,
      statusPort,
      mqtt: serving ? serving.ports.slice(0, serving.replicas).map((p) => p.mqtt) : [],
      api: [...want.values()].map((w) => w.ports.api),
    });
  }
}

/**
 * A sandbox per target with a local placement. The EMQX API credentials are the
 * target's secrets (its environment variables); unset, the sandbox's published
 * ones are used and put in the environment, where the EMQX activities read them.
 */
export function createLocalSandboxes(targets: TargetConfig[], dataDir: string, env: NodeJS.ProcessEnv = process.env): Map<string, LocalSandbox> {
  const sandboxes = new Map<string, LocalSandbox>();
  for (const t of targets) {
    if (!t.local) continue;
    if (t.emqx) {
      env[t.emqx.apiKey.env] ||= SANDBOX_API_KEY;
      env[t.emqx.apiSecret.env] ||= SANDBOX_API_SECRET;
    }
    sandboxes.set(
      t.name,
      new LocalSandbox({
        target: t.name,
        placement: t.local,
        dataDir,
        nodeName: t.emqx?.nodeName,
        apiKey: t.emqx ? env[t.emqx.apiKey.env]! : SANDBOX_API_KEY,
        apiSecret: t.emqx ? env[t.emqx.apiSecret.env]! : SANDBOX_API_SECRET,
      }),
    );
  }
  return sandboxes;
}
