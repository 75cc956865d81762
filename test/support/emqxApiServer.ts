/**
 * An EMQX REST API v5 server for tests: one cluster in memory whose nodes the
 * test adds, stops, cuts off and removes. It answers with the sandbox node's
 * own REST API (src/sandbox/emqx/restApi.ts, as the answering node's version
 * and edition do) and runs evacuations with the sandbox's state machine
 * (src/sandbox/emqx/evacuation.ts); what it adds is the cluster in memory
 * and simulated time: each tick is one EMQX second, so rates are per
 * simulated second while a test runs a whole evacuation in milliseconds.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmqxEdition } from '../../src/domain/emqx/versions';
import { startEvacuation, resumeEvacuation, stepEvacuation, type EvacuationRecord, type EvacuationState } from '../../src/sandbox/emqx/evacuation';
import { EmqxRestApi, type ClusterView, type ViewNode } from '../../src/sandbox/emqx/restApi';
import type { FixtureCluster } from './emqxContract';

export type NodeRole = 'core' | 'replicant';

export interface EmqxNodeSpec {
  name: string;
  role?: NodeRole;
  version?: string;
  edition?: EmqxEdition;
  /** Live (connected) clients. */
  connections?: number;
  /** Sessions, at least `connections`: the rest belong to disconnected persistent clients. */
  sessions?: number;
}

export interface EmqxApiServerOptions {
  nodes?: EmqxNodeSpec[];
  apiKey?: string;
  apiSecret?: string;
  /** Wall milliseconds per simulated second; 0 = time moves only by `advance()`. Default 5. */
  tickMs?: number;
}

export interface RecordedRequest {
  method: string;
  /** Decoded path without the query, e.g. /api/v5/load_rebalance/emqx@a-0/evacuation/start */
  path: string;
  query: string;
  body: unknown;
}

/** The node's counts after each simulated second of its evacuation (and once at its start). */
export interface EvacuationSample {
  t: number;
  node: string;
  state: EvacuationState;
  connections: number;
  sessions: number;
}

interface SimNode {
  name: string;
  role: NodeRole;
  version: string;
  edition: EmqxEdition;
  status: 'running' | 'stopped';
  unreachable: boolean;
  agentBusy: boolean;
  connections: number;
  sessions: number;
  /** Simulated ms. */
  startedAt: number;
  /** Evacuation state is persisted by EMQX, so it survives a stop and start. */
  evacuation?: EvacuationRecord;
}

interface Fault {
  status: number;
  code: string;
  message: string;
}

export class EmqxApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly samples: EvacuationSample[] = [];
  readonly apiKey: string;
  readonly apiSecret: string;
  /** Simulated seconds since start. */
  now = 0;
  /** The node answering the API: its version and edition shape the answers; force_leave of it is refused. */
  apiNode: string | undefined;
  private readonly nodes = new Map<string, SimNode>();
  /** Every name the cluster met: an atom on its nodes. */
  private readonly known = new Set<string>();
  private readonly faults: Fault[] = [];
  private timer?: NodeJS.Timeout;

  private constructor(
    private readonly server: Server,
    options: EmqxApiServerOptions,
  ) {
    this.apiKey = options.apiKey ?? 'cutover-test-key';
    this.apiSecret = options.apiSecret ?? 'cutover-test-secret';
    for (const spec of options.nodes ?? []) this.addNode(spec);
  }

  static async start(options: EmqxApiServerOptions = {}): Promise<EmqxApiServer> {
    const server = createServer();
    const emqx = new EmqxApiServer(server, options);
    server.on('request', (req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => void emqx.handle(req, res, raw));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const tickMs = options.tickMs ?? 5;
    if (tickMs > 0) emqx.timer = setInterval(() => emqx.advance(1), tickMs);
    return emqx;
  }

  /** A cluster in the state a contract fixture describes, time stopped. */
  static async fromFixture(cluster: FixtureCluster): Promise<EmqxApiServer> {
    const emqx = await EmqxApiServer.start({ tickMs: 0 });
    for (const n of cluster.nodes) {
      emqx.addNode({ name: n.node, role: n.role, ...cluster.release, connections: n.live ?? 0, sessions: n.sessions ?? 0 });
      const sim = emqx.mustGet(n.node);
      Object.assign(sim, { status: n.status, unreachable: n.unreachable ?? false, agentBusy: n.agentBusy ?? false });
      if (n.evacuation) {
        const started = startEvacuation(n.evacuation, { now: 0, live: n.evacuation.initialConns, sessions: n.evacuation.initialSessions });
        sim.evacuation = { ...started, state: n.evacuation.state, currentConns: sim.connections, currentSessions: sim.sessions };
      }
    }
    emqx.apiNode = cluster.self;
    return emqx;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- the test's levers -------------------------------------------------

  /** A node joins the cluster, running (e.g. a green pod came up). Enterprise 5.8.0 unless told. */
  addNode(spec: EmqxNodeSpec): void {
    const connections = spec.connections ?? 0;
    this.nodes.set(spec.name, {
      name: spec.name,
      role: spec.role ?? 'core',
      version: spec.version ?? '5.8.0',
      edition: spec.edition ?? 'Enterprise',
      status: 'running',
      unreachable: false,
      agentBusy: false,
      connections,
      sessions: Math.max(spec.sessions ?? connections, connections),
      startedAt: this.now * 1000,
    });
    this.known.add(spec.name);
    this.apiNode ??= spec.name;
  }

  /** The node goes down: a core stays listed as stopped (until force_leave), a replicant is forgotten. */
  stopNode(name: string): void {
    const n = this.mustGet(name);
    Object.assign(n, { status: 'stopped', connections: 0, sessions: 0 });
    // The dashboard is reached through a Service: a stopped node no longer answers, a running one does.
    if (this.apiNode === name) this.apiNode = [...this.nodes.values()].find((m) => m.status === 'running')?.name ?? name;
  }

  startNode(name: string): void {
    const n = this.mustGet(name);
    Object.assign(n, { status: 'running', startedAt: this.now * 1000 });
    // A restarted node resumes a persisted evacuation by evicting at once.
    if (n.evacuation) n.evacuation = resumeEvacuation(n.evacuation, { now: this.now * 1000, live: n.connections, sessions: n.sessions });
  }

  /** The node is no longer a member at all. */
  removeNode(name: string): void {
    this.nodes.delete(name);
  }

  setLoad(name: string, load: { connections: number; sessions?: number }): void {
    Object.assign(this.mustGet(name), { connections: load.connections, sessions: Math.max(load.sessions ?? load.connections, load.connections) });
  }

  /** Another rebalance holds the node's eviction agent: evacuation start answers eviction_agent_busy (from 5.4.0). */
  setAgentBusy(name: string, busy: boolean): void {
    this.mustGet(name).agentBusy = busy;
  }

  /** The node runs but its RPCs fail: left out of the node list and global_status, 503 on its evacuation. */
  setUnreachable(name: string, unreachable: boolean): void {
    this.mustGet(name).unreachable = unreachable;
  }

  /** The next `count` authenticated requests fail with this answer (default 503 RPC_ERROR). */
  failNext(count: number, fault: Partial<Fault> = {}): void {
    for (let i = 0; i < count; i++) this.faults.push({ status: 503, code: 'RPC_ERROR', message: 'RPC error on node: timeout', ...fault });
  }

  node(name: string): { status: string; connections: number; sessions: number; evacuation?: EvacuationState } {
    const n = this.mustGet(name);
    return { status: n.status, connections: n.connections, sessions: n.sessions, evacuation: n.evacuation?.state };
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  requestsTo(method: string, pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix));
  }

  /** Moves simulated time on by `seconds`, one eviction step per second as EMQX does. */
  advance(seconds: number): void {
    for (let i = 0; i < seconds; i++) {
      this.now += 1;
      for (const n of this.nodes.values()) {
        if (n.status !== 'running' || n.unreachable || !n.evacuation) continue;
        this.step(n, n.evacuation);
      }
    }
  }

  // ---- simulation --------------------------------------------------------

  private mustGet(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`test EMQX has no node ${name}`);
    return n;
  }

  private sample(n: SimNode): void {
    if (n.evacuation) this.samples.push({ t: this.now, node: n.name, state: n.evacuation.state, connections: n.connections, sessions: n.sessions });
  }

  private available(n: SimNode | undefined): n is SimNode {
    return n !== undefined && n.status === 'running' && !n.unreachable && !n.evacuation;
  }

  private recipients(from: SimNode, migrateTo: string[] | undefined): SimNode[] {
    const names = migrateTo ?? [...this.nodes.keys()].filter((k) => k !== from.name);
    return names.map((k) => this.nodes.get(k)).filter((r) => this.available(r));
  }

  /** Moves `count` clients round-robin onto the recipients; `live` moves their connections too. */
  private move(from: SimNode, to: SimNode[], count: number, live: boolean): void {
    for (let i = 0; i < count; i++) {
      const r = to[i % to.length]!;
      r.sessions += 1;
      if (live) r.connections += 1;
    }
    from.sessions -= count;
    if (live) from.connections -= count;
  }

  private step(n: SimNode, e: EvacuationRecord): void {
    const to = this.recipients(n, e.migrateTo);
    const step = stepEvacuation(e, { now: this.now * 1000, live: n.connections, sessions: n.sessions, recipients: to.length });
    n.evacuation = step.record ?? undefined;
    // Evicted clients reconnect through the load balancer (to the migrate_to nodes in a blue-green
    // upgrade) and take their sessions over; with nowhere to go they stay disconnected, sessions here.
    if (step.closeConnections > 0) {
      if (to.length > 0) this.move(n, to, step.closeConnections, true);
      else n.connections -= step.closeConnections;
    }
    if (step.migrateSessions > 0) this.move(n, to, step.migrateSessions, false);
    this.sample(n);
  }

  // ---- HTTP --------------------------------------------------------------

  /** The cluster as the answering node sees it. */
  private view(): ClusterView {
    const nodes = (): ViewNode[] =>
      [...this.nodes.values()]
        .filter((n) => n.status === 'running' || n.role === 'core')
        .map((n) => ({ ...n, node: n.name, running: n.status === 'running', live: n.connections }));
    return {
      self: this.apiNode ?? '',
      clusterName: 'emqxcl',
      nodes: async () => nodes(),
      known: async (name) => this.known.has(name),
      evacuation: async (name) => this.nodes.get(name)?.evacuation ?? null,
      startEvacuation: async (name, r) => {
        const n = this.mustGet(name);
        if (n.evacuation) return false;
        n.evacuation = r;
        this.sample(n);
        return true;
      },
      stopEvacuation: async (name) => {
        const n = this.nodes.get(name);
        const had = n?.evacuation !== undefined;
        if (n) n.evacuation = undefined;
        return had;
      },
      forget: async (name) => this.nodes.delete(name),
      now: () => this.now * 1000,
    };
  }

  private async handle(req: Parameters<EmqxRestApi['handle']>[0], res: Parameters<EmqxRestApi['handle']>[1], raw: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emqx');
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // kept as text, as it came
    }
    this.requests.push({ method: req.method ?? '', path: decodeURIComponent(url.pathname), query: url.search, body });
    const answering = this.apiNode === undefined ? undefined : this.nodes.get(this.apiNode);
    const api = new EmqxRestApi({
      view: this.view(),
      release: { version: answering?.version ?? '5.8.0', edition: answering?.edition ?? 'Enterprise' },
      apiKey: this.apiKey,
      apiSecret: this.apiSecret,
    });
    const fault = req.headers.authorization && url.pathname !== '/api/v5/load_rebalance/availability_check' ? this.faults.shift() : undefined;
    if (fault) {
      res.writeHead(fault.status, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ code: fault.code, message: fault.message }));
    }
    await api.handle(req, res, raw);
  }
}
