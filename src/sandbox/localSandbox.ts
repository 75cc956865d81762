/**
 * One local sandbox target: releases of a kind's stand-in processes and nginx
 * routing traffic to the serving release (or releases, weighted, during a
 * split), its traffic upstream written by the target's router
 * (src/activities/routers/nginx/), which the local platform reaches through
 * this sandbox. What it should run (releases, replicas, node ports, the serving
 * release, the weights) is recorded in a JSON state file, written atomically
 * before processes are started or stopped, so a restart (of `npm start`, or
 * after a crash) brings back exactly the recorded state and a retried change
 * is not applied twice. Changes are serialised: one at a time per sandbox.
 * What differs per kind (shared infrastructure, how a node starts, which
 * upstreams nginx needs) comes from its SandboxKind.
 */
import type { ChildProcess } from 'node:child_process';
import type pino from 'pino';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalPlacement } from '../config/targets';
import type { LocalState, LocalWorkloads } from '../domain/platform';
import { releaseName } from '../domain/upgrade';
import { freePort, portIsFree } from '../runtime/freePort';
import { positive } from '../domain/router';
import { nginxRouter, type NginxRouter, type OwnedUpstream } from '../activities/routers/nginx/upstream';
import { Nginx, type NginxRoutes } from './nginx';
import { isRunning } from './process';

export interface NodeSpec {
  pod: string;
  release: string;
  version: string;
  ordinal: number;
  ports: Record<string, number>;
}

export interface SandboxNode {
  readonly version: string;
  readonly process: ChildProcess;
  /** Whether it serves; default: its process runs. */
  ready?(): boolean;
  stop(): Promise<void>;
}

/** Every desired node, for the upstreams that reach all of them (an API's). */
export interface Routing {
  all: { ports: Record<string, number> }[];
}

/** What a kind brings to the generic sandbox. */
export interface SandboxKind {
  /** An image name for the version, e.g. cutover/sandbox-emqx:5.8.0 (the sandbox runs one program per kind). */
  imageOf(version: string): string;
  /** Port names each node listens on. */
  readonly nodePorts: readonly string[];
  /** Which node port serves Prometheus metrics, and at what path, if the stand-in has any. */
  readonly metrics?: { port: string; path: string };
  /** Shared infrastructure (a backplane, a database), before any node. */
  start(dir: string): Promise<void>;
  stop(): Promise<void>;
  startNode(spec: NodeSpec): Promise<SandboxNode>;
  /** The upstream that carries the target's traffic, which its router owns: name, the node port it leads to, how its servers are written. */
  readonly traffic: OwnedUpstream & { port: string };
  /** nginx's upstreams for these nodes, the traffic upstream without servers (its block is the router's); the status port is the sandbox's. */
  routes(r: Routing): Omit<NginxRoutes, 'statusPort'>;
  /** For npm start's print-out: where a person reaches the sandbox. */
  describe(): string;
  /** Handed to the kind's activities (see LocalWorkloads.kindPort). */
  readonly kindPort?: unknown;
}

export interface LocalSandboxOptions {
  target: string;
  placement: LocalPlacement;
  /** State file and node logs go under dataDir/sandbox/<cluster>; nginx under dataDir/nginx/<cluster>. */
  dataDir: string;
  kind: SandboxKind;
}

const HEAL_FIRST_MS = 1000;
const HEAL_MAX_MS = 30_000;

export const podName = (release: string, ordinal: number): string => `${release}-${ordinal}`;

export class LocalSandbox implements LocalWorkloads {
  readonly nginx: Nginx;
  readonly router: NginxRouter;
  private readonly dir: string;
  private readonly stateFile: string;
  private state: LocalState | undefined;
  private started = false;
  private readonly nodes = new Map<string, SandboxNode>();
  private queue: Promise<unknown> = Promise.resolve();
  private scrape?: (targets: string[], metricsPath: string) => void;
  private supervision?: { log: pino.Logger; delayMs: number; timer?: NodeJS.Timeout };

  constructor(private readonly o: LocalSandboxOptions) {
    this.dir = join(o.dataDir, 'sandbox', o.placement.cluster);
    this.stateFile = join(this.dir, 'state.json');
    this.nginx = new Nginx(join(o.dataDir, 'nginx', o.placement.cluster));
    const { port, ...upstream } = o.kind.traffic;
    this.router = nginxRouter({ target: o.target, upstream, nginx: this.nginx, nodes: () => this.nodesOn(port) });
  }

  get target(): string {
    return this.o.target;
  }

  get kind(): SandboxKind {
    return this.o.kind;
  }

  get kindPort(): unknown {
    return this.o.kind.kindPort;
  }

  get statusUrl(): string {
    return `http://127.0.0.1:${this.o.placement.ports.status}/status`;
  }

  imageOf(version: string): string {
    return this.o.kind.imageOf(version);
  }

  /** After every change, fn learns the nodes' metrics endpoints (host:port), e.g. to update Prometheus's file_sd targets. */
  scrapeWith(fn: (targets: string[], metricsPath: string) => void): void {
    this.scrape = fn;
  }

  /**
   * From now on a node that exits without being asked to is started again (a heal, as a StatefulSet controller
   * would), with a log line, after a pause: 1 s, doubling up to 30 s while heals fail.
   */
  superviseNodes(log: pino.Logger): void {
    this.supervision = { log, delayMs: HEAL_FIRST_MS };
  }

  private nodeExited(pod: string, node: SandboxNode, code: number | null, signal: string | null): void {
    const sup = this.supervision;
    // stopped on purpose (reconcile and stop forget a node before they stop it)
    if (!sup || this.nodes.get(pod) !== node) return;
    sup.log.warn({ target: this.o.target, pod, code, signal, restartInMs: sup.delayMs }, 'sandbox node exited; starting it again');
    this.healLater(sup);
  }

  private healLater(sup: NonNullable<LocalSandbox['supervision']>): void {
    if (sup.timer) return;
    sup.timer = setTimeout(() => {
      this.heal().then(
        () => {
          sup.timer = undefined;
          sup.delayMs = HEAL_FIRST_MS;
          sup.log.info({ target: this.o.target }, 'sandbox nodes running again');
        },
        (err: unknown) => {
          sup.timer = undefined;
          sup.delayMs = Math.min(sup.delayMs * 2, HEAL_MAX_MS);
          sup.log.warn({ target: this.o.target, err: err instanceof Error ? err.message : String(err), restartInMs: sup.delayMs }, 'sandbox heal failed; trying again');
          if (this.started) this.healLater(sup);
        },
      );
    }, sup.delayMs);
  }

  /** The recorded state, or on the very first start one release of the configured version and replicas serving. */
  private load(): LocalState {
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as LocalState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`sandbox state ${this.stateFile} is unreadable: ${(err as Error).message}`, { cause: err });
      const { version, replicas } = this.o.placement;
      const first = releaseName(this.o.target, version);
      // made from the configuration, by no upgrade: the target's serving release
      return { service: first, releases: { [first]: { version, replicas, ports: [], owner: { target: this.o.target } } } };
    }
  }

  private save(): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2) + '\n');
    renameSync(tmp, this.stateFile);
  }

  /** Brings the sandbox to its recorded state: shared infrastructure, every release's nodes, nginx. */
  start(): Promise<void> {
    return this.serial(async () => {
      this.state = this.load();
      if (!this.started) await this.o.kind.start(join(this.dir, 'nodes'));
      this.started = true;
      await this.reconcile();
    });
  }

  /** Stops nginx, the nodes and the shared infrastructure; the state file stays for the next start. */
  stop(): Promise<void> {
    if (this.supervision) clearTimeout(this.supervision.timer);
    this.supervision = undefined;
    return this.serial(async () => {
      await this.nginx.stop();
      const nodes = [...this.nodes.values()];
      this.nodes.clear();
      await Promise.all(nodes.map((n) => n.stop()));
      if (this.started) await this.o.kind.stop();
      this.started = false;
    });
  }

  /** Runs one change after the other, so two activities never interleave their read-modify-write of the state. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private current(): LocalState {
    if (!this.state || !this.started) throw new Error(`the local sandbox of target '${this.o.target}' is not running in this worker`);
    return this.state;
  }

  /** Reads under the lock, so a reader never sees a change half applied. */
  read<T>(fn: (s: LocalState) => T): Promise<T> {
    return this.serial(async () => fn(structuredClone(this.current())));
  }

  /** Restarts nodes that died, as a StatefulSet controller would. */
  heal(): Promise<void> {
    return this.serial(() => this.reconcile());
  }

  /** Applies a change to the state, records it, then makes processes and nginx match. */
  change<T>(fn: (s: LocalState) => T): Promise<T> {
    return this.serial(async () => {
      const s = this.current();
      const result = fn(s);
      this.save();
      await this.reconcile();
      return result;
    });
  }

  /** Pods of a release in ordinal order; ready while its node serves. */
  pods(release: string): { name: string; ready: boolean }[] {
    const r = this.current().releases[release];
    if (!r) return [];
    return Array.from({ length: r.replicas }, (_, i) => {
      const n = this.nodes.get(podName(release, i));
      return { name: podName(release, i), ready: !!n && isRunning(n.process) && (n.ready?.() ?? true) };
    });
  }

  private desired(): Map<string, NodeSpec> {
    const want = new Map<string, NodeSpec>();
    for (const [release, r] of Object.entries(this.current().releases)) {
      for (let i = 0; i < r.replicas; i++) want.set(podName(release, i), { pod: podName(release, i), release, version: r.version, ordinal: i, ports: r.ports[i]! });
    }
    return want;
  }

  /** Every release's desired nodes' addresses on one of their ports, in ordinal order. */
  private nodesOn(port: string): Record<string, string[]> {
    const nodes: Record<string, string[]> = {};
    for (const n of this.desired().values()) (nodes[n.release] ??= []).push(`127.0.0.1:${n.ports[port]}`);
    return nodes;
  }

  /**
   * A node's ports were free when they were chosen, not necessarily when it listens a second later (another
   * process's outgoing connection may take one): a node that could not start because one of its ports is now
   * held by someone else gets new ones, kept in the state.
   */
  private async startNode(spec: NodeSpec): Promise<SandboxNode> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.o.kind.startNode(spec);
      } catch (err) {
        const taken = (await Promise.all(Object.values(spec.ports).map(portIsFree))).includes(false);
        if (!taken || attempt >= 3) throw err;
        for (const name of this.o.kind.nodePorts) spec.ports[name] = await freePort();
        this.save();
      }
    }
  }

  /** Stops nodes that should not run (highest ordinal first, as a StatefulSet does), starts those missing or dead, then routes. */
  private async reconcile(): Promise<void> {
    const s = this.current();
    for (const r of Object.values(s.releases)) {
      while (r.ports.length < r.replicas) {
        const ports: Record<string, number> = {};
        for (const name of this.o.kind.nodePorts) ports[name] = await freePort();
        r.ports.push(ports);
      }
    }
    this.save();
    const want = this.desired();
    const running = [...this.nodes.entries()].sort(([a], [b]) => b.localeCompare(a, 'en', { numeric: true }));
    for (const [pod, node] of running) {
      const w = want.get(pod);
      if (w && isRunning(node.process) && w.version === node.version) continue;
      this.nodes.delete(pod);
      await node.stop();
    }
    const missing = [...want.entries()].filter(([pod]) => !this.nodes.has(pod));
    await Promise.all(
      missing.map(async ([pod, spec]) => {
        const node = await this.startNode(spec);
        this.nodes.set(pod, node);
        node.process.once('exit', (code, signal) => this.nodeExited(pod, node, code, signal));
      }),
    );
    // who gets traffic: the weights during a split, else the serving release alone; then the rest of nginx's config
    await this.router.apply(positive(s.weights ?? { [s.service]: 100 }));
    await this.nginx.apply({ statusPort: this.o.placement.ports.status, ...this.o.kind.routes({ all: [...want.values()].map((n) => ({ ports: n.ports })) }) });
    const metrics = this.o.kind.metrics;
    if (metrics) this.scrape?.([...want.values()].map((n) => `127.0.0.1:${n.ports[metrics.port]}`), metrics.path);
  }
}
