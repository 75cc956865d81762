/**
 * An EMQX REST API v5 server for tests: one cluster whose nodes the test adds,
 * stops and removes, with Basic auth, node evacuation (the state machine of
 * emqx_node_rebalance_evacuation) and force_leave. Error codes and messages
 * follow emqx_node_rebalance_api.erl and emqx_mgmt_api_cluster.erl.
 *
 * Time is simulated: each tick is one EMQX second, so rates are per simulated
 * second while a test runs a whole evacuation in milliseconds.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type NodeRole = 'core' | 'replicant';
type State = 'waiting_health_check' | 'evicting_conns' | 'waiting_takeover' | 'evicting_sessions' | 'prohibiting';

export interface EmqxNodeSpec {
  name: string;
  role?: NodeRole;
  version?: string;
  edition?: string;
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
  /** false: an edition without the load_rebalance API (every such path answers 404). */
  evacuationApi?: boolean;
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
  state: State;
  connections: number;
  sessions: number;
}

interface Evacuation {
  state: State;
  connRate: number;
  sessRate: number;
  waitTakeover: number;
  waitHealthCheck: number;
  redirectTo?: string;
  migrateTo?: string[];
  /** Simulated seconds left in a waiting state. */
  remaining: number;
  initialConns: number;
  initialSessions: number;
}

interface SimNode {
  name: string;
  role: NodeRole;
  version: string;
  edition: string;
  status: 'running' | 'stopped';
  connections: number;
  sessions: number;
  startedAt: number;
  /** Evacuation state is persisted by EMQX, so it survives a stop and start. */
  evacuation?: Evacuation;
  agentBusy: boolean;
}

interface Fault {
  status: number;
  code: string;
  message: string;
}

const json = (res: ServerResponse, status: number, body?: unknown): void => {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
};
const error = (res: ServerResponse, status: number, code: string, message: string): void => json(res, status, { code, message });
const pathNotFound = (res: ServerResponse): void => error(res, 404, 'NOT_FOUND', 'Request Path Not Found');

/** `timeout_duration_s` accepts an integer of seconds or a string like "10s", "1m", "500ms". */
function durationSeconds(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v !== 'string') return null;
  const m = /^(\d+)(ms|s|m|h)$/.exec(v.trim());
  if (!m) return null;
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.ceil(Number(m[1]) * factor);
}

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export class EmqxApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly samples: EvacuationSample[] = [];
  readonly apiKey: string;
  readonly apiSecret: string;
  /** Simulated seconds since start. */
  now = 0;
  evacuationApi: boolean;
  /** The node answering the API (force_leave of it is refused, availability_check reports it). */
  apiNode: string | undefined;
  private readonly nodes = new Map<string, SimNode>();
  private readonly faults: Fault[] = [];
  private timer?: NodeJS.Timeout;

  private constructor(
    private readonly server: Server,
    options: EmqxApiServerOptions,
  ) {
    this.apiKey = options.apiKey ?? 'cutover-test-key';
    this.apiSecret = options.apiSecret ?? 'cutover-test-secret';
    this.evacuationApi = options.evacuationApi ?? true;
    for (const spec of options.nodes ?? []) this.addNode(spec);
  }

  static async start(options: EmqxApiServerOptions = {}): Promise<EmqxApiServer> {
    const server = createServer();
    const emqx = new EmqxApiServer(server, options);
    server.on('request', (req, res) => void emqx.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const tickMs = options.tickMs ?? 5;
    if (tickMs > 0) emqx.timer = setInterval(() => emqx.advance(1), tickMs);
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

  /** A node joins the cluster, running (e.g. a green pod came up). */
  addNode(spec: EmqxNodeSpec): void {
    const connections = spec.connections ?? 0;
    this.nodes.set(spec.name, {
      name: spec.name,
      role: spec.role ?? 'core',
      version: spec.version ?? '5.8.0',
      edition: spec.edition ?? 'Opensource',
      status: 'running',
      connections,
      sessions: Math.max(spec.sessions ?? connections, connections),
      startedAt: this.now,
      agentBusy: false,
    });
    this.apiNode ??= spec.name;
  }

  /** The node goes down but stays listed as stopped (EMQX keeps it until force_leave or autoclean). */
  stopNode(name: string): void {
    const n = this.mustGet(name);
    Object.assign(n, { status: 'stopped', connections: 0, sessions: 0 });
    // The dashboard is reached through a Service: a stopped node no longer answers, a running one does.
    if (this.apiNode === name) this.apiNode = [...this.nodes.values()].find((m) => m.status === 'running')?.name ?? name;
  }

  startNode(name: string): void {
    const n = this.mustGet(name);
    Object.assign(n, { status: 'running', startedAt: this.now });
    // A restarted node resumes a persisted evacuation by evicting at once.
    if (n.evacuation) Object.assign(n.evacuation, { state: 'evicting_conns', initialConns: 0, initialSessions: 0 });
  }

  /** The node is no longer a member at all. */
  removeNode(name: string): void {
    this.nodes.delete(name);
  }

  setLoad(name: string, load: { connections: number; sessions?: number }): void {
    Object.assign(this.mustGet(name), { connections: load.connections, sessions: Math.max(load.sessions ?? load.connections, load.connections) });
  }

  /** Another rebalance holds the node's eviction agent: evacuation start answers eviction_agent_busy. */
  setAgentBusy(name: string, busy: boolean): void {
    this.mustGet(name).agentBusy = busy;
  }

  /** The next `count` authenticated requests fail with this answer (default 503 RPC_ERROR). */
  failNext(count: number, fault: Partial<Fault> = {}): void {
    for (let i = 0; i < count; i++) this.faults.push({ status: 503, code: 'RPC_ERROR', message: 'RPC error on node: timeout', ...fault });
  }

  node(name: string): { status: string; connections: number; sessions: number; evacuation?: State } {
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
        if (n.status !== 'running' || !n.evacuation) continue;
        this.step(n, n.evacuation);
        this.sample(n);
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
    this.samples.push({ t: this.now, node: n.name, state: n.evacuation!.state, connections: n.connections, sessions: n.sessions });
  }

  private available(n: SimNode | undefined): n is SimNode {
    return n !== undefined && n.status === 'running' && !n.evacuation;
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

  private step(n: SimNode, e: Evacuation): void {
    switch (e.state) {
      case 'waiting_health_check':
        if (--e.remaining <= 0) e.state = 'evicting_conns';
        return;
      case 'evicting_conns': {
        if (n.connections === 0) return void Object.assign(e, { state: 'waiting_takeover', remaining: e.waitTakeover });
        // Evicted clients reconnect through the load balancer (to the migrate_to nodes in a
        // blue-green upgrade) and take their sessions over; with nowhere to go they stay
        // disconnected and their sessions wait here.
        const count = Math.min(e.connRate, n.connections);
        const to = this.recipients(n, e.migrateTo);
        if (to.length > 0) this.move(n, to, count, true);
        else n.connections -= count;
        return;
      }
      case 'waiting_takeover':
        if (--e.remaining <= 0) e.state = 'evicting_sessions';
        return;
      case 'evicting_sessions': {
        if (n.sessions === 0) return void (e.state = 'prohibiting');
        // With no recipient available EMQX retries later; so does this model.
        const to = this.recipients(n, e.migrateTo);
        if (to.length > 0) this.move(n, to, Math.min(e.sessRate, n.sessions), false);
        return;
      }
      case 'prohibiting':
        return;
    }
  }

  private evacuationStatus(n: SimNode, e: Evacuation): Record<string, unknown> {
    return {
      node: n.name,
      state: e.state,
      connection_eviction_rate: e.connRate,
      session_eviction_rate: e.sessRate,
      connection_goal: 0,
      session_goal: 0,
      session_recipients: e.migrateTo ?? this.recipients(n, undefined).map((r) => r.name),
      stats: {
        initial_connected: e.initialConns,
        current_connected: n.connections,
        initial_sessions: e.initialSessions,
        current_sessions: n.sessions,
      },
    };
  }

  private nodeInfo(n: SimNode): Record<string, unknown> {
    // What emqx_mgmt reports for a node it cannot reach.
    if (n.status === 'stopped') return { node: n.name, node_status: 'stopped', role: n.role };
    return {
      node: n.name,
      node_status: 'running',
      version: n.version,
      role: n.role,
      edition: n.edition,
      connections: n.sessions,
      live_connections: n.connections,
      uptime: (this.now - n.startedAt) * 1000,
    };
  }

  // ---- HTTP --------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emqx');
    const path = decodeURIComponent(url.pathname);
    const raw = await new Promise<string>((resolve) => {
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (data += c));
      req.on('end', () => resolve(data));
    });
    let body: unknown = undefined;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        this.requests.push({ method: req.method ?? '', path, query: url.search, body: raw });
        return error(res, 400, 'BAD_REQUEST', 'Invalid JSON body');
      }
    }
    this.requests.push({ method: req.method ?? '', path, query: url.search, body });
    const method = req.method ?? 'GET';

    if (path.startsWith('/api/v5/load_rebalance/') && !this.evacuationApi) return pathNotFound(res);
    if (method === 'GET' && path === '/api/v5/load_rebalance/availability_check') return this.availability(res);
    if (!this.authorized(req)) return error(res, 401, 'BAD_API_KEY_OR_SECRET', 'Check api_key/api_secret');
    const fault = this.faults.shift();
    if (fault) return error(res, fault.status, fault.code, fault.message);

    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/v5/nodes') return json(res, 200, [...this.nodes.values()].map((n) => this.nodeInfo(n)));
    if (method === 'GET' && (m = /^\/api\/v5\/nodes\/([^/]+)$/.exec(path))) {
      const n = this.nodes.get(m[1]!);
      return n ? json(res, 200, this.nodeInfo(n)) : error(res, 404, 'NOT_FOUND', 'Node not found');
    }
    if (method === 'GET' && path === '/api/v5/stats') return this.stats(res, url.searchParams.get('aggregate') === 'true');
    if (method === 'GET' && path === '/api/v5/cluster') {
      const running = [...this.nodes.values()].filter((n) => n.status === 'running').map((n) => n.name);
      return json(res, 200, { name: 'emqxcl', description: '', nodes: running, self: this.apiNode });
    }
    if (method === 'DELETE' && (m = /^\/api\/v5\/cluster\/([^/]+)\/force_leave$/.exec(path))) return this.forceLeave(res, m[1]!);
    if (method === 'GET' && path === '/api/v5/load_rebalance/global_status') {
      const evacuations = [...this.nodes.values()]
        .filter((n) => n.status === 'running' && n.evacuation)
        .map((n) => this.evacuationStatus(n, n.evacuation!));
      return json(res, 200, { evacuations, purges: [], rebalances: [] });
    }
    if (method === 'POST' && (m = /^\/api\/v5\/load_rebalance\/([^/]+)\/evacuation\/(start|stop)$/.exec(path))) {
      return m[2] === 'start' ? this.startEvacuation(res, m[1]!, body) : this.stopEvacuation(res, m[1]!);
    }
    return pathNotFound(res);
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return false;
    return Buffer.from(header.slice(6), 'base64').toString('utf8') === `${this.apiKey}:${this.apiSecret}`;
  }

  private availability(res: ServerResponse): void {
    const n = this.apiNode === undefined ? undefined : this.nodes.get(this.apiNode);
    if (n?.evacuation) return error(res, 503, 'NODE_EVACUATING', 'Node Evacuating');
    return json(res, 200, {});
  }

  private stats(res: ServerResponse, aggregate: boolean): void {
    const running = [...this.nodes.values()].filter((n) => n.status === 'running');
    const of = (ns: SimNode[]): Record<string, number> => {
      const sessions = ns.reduce((s, n) => s + n.sessions, 0);
      const live = ns.reduce((s, n) => s + n.connections, 0);
      return { 'connections.count': sessions, 'live_connections.count': live, 'sessions.count': sessions };
    };
    return json(res, 200, aggregate ? of(running) : running.map((n) => ({ node: n.name, ...of([n]) })));
  }

  /** Looks a path node up as emqx_utils_api:with_node does, then as the RPC to it would fare. */
  private reachable(res: ServerResponse, name: string): SimNode | undefined {
    const n = this.nodes.get(name);
    if (!n) return void error(res, 404, 'NOT_FOUND', `Node not found: ${name}`);
    if (n.status !== 'running') return void error(res, 503, 'RPC_ERROR', `RPC error on node '${name}': nodedown`);
    return n;
  }

  private startEvacuation(res: ServerResponse, name: string, body: unknown): void {
    const n = this.reachable(res, name);
    if (!n) return;
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const connRate = b.conn_evict_rate ?? 500;
    const sessRate = b.sess_evict_rate ?? 500;
    const waitTakeover = durationSeconds(b.wait_takeover ?? 60);
    const waitHealthCheck = durationSeconds(b.wait_health_check ?? 60);
    const migrateTo = b.migrate_to;
    if (!posInt(connRate) || !posInt(sessRate)) return error(res, 400, 'BAD_REQUEST', 'conn_evict_rate and sess_evict_rate must be positive integers');
    if (waitTakeover === null || waitHealthCheck === null) return error(res, 400, 'BAD_REQUEST', 'wait_takeover and wait_health_check must be durations');
    if (b.redirect_to !== undefined && typeof b.redirect_to !== 'string') return error(res, 400, 'BAD_REQUEST', 'redirect_to must be a string');
    if (migrateTo !== undefined) {
      if (!Array.isArray(migrateTo) || migrateTo.length === 0 || !migrateTo.every((x) => typeof x === 'string')) {
        return error(res, 400, 'BAD_REQUEST', 'migrate_to must be a non-empty list of node names');
      }
      const unavailable = migrateTo.filter((x) => !this.available(this.nodes.get(x)));
      if (unavailable.length > 0) return error(res, 400, 'NOT_FOUND', `Nodes unavailable: [${unavailable.map((u) => `'${u}'`).join(',')}]`);
    }
    if (n.evacuation) return error(res, 400, 'BAD_REQUEST', `error on node '${name}': already_started`);
    if (n.agentBusy) return error(res, 400, 'BAD_REQUEST', `error on node '${name}': eviction_agent_busy`);
    n.evacuation = {
      state: 'waiting_health_check',
      connRate,
      sessRate,
      waitTakeover,
      waitHealthCheck,
      redirectTo: b.redirect_to as string | undefined,
      migrateTo: migrateTo as string[] | undefined,
      remaining: waitHealthCheck,
      initialConns: n.connections,
      initialSessions: n.sessions,
    };
    this.sample(n);
    return json(res, 200, {});
  }

  private stopEvacuation(res: ServerResponse, name: string): void {
    const n = this.reachable(res, name);
    if (!n) return;
    if (!n.evacuation) return error(res, 400, 'BAD_REQUEST', `error on node '${name}': not_started`);
    n.evacuation = undefined;
    return json(res, 200, {});
  }

  private forceLeave(res: ServerResponse, name: string): void {
    if (!name.includes('@')) return error(res, 400, 'BAD_REQUEST', 'Bad node name');
    if (name === this.apiNode) return error(res, 400, 'BAD_REQUEST', "Can't leave self");
    if (!this.nodes.has(name)) return error(res, 400, 'BAD_REQUEST', 'node_not_in_cluster');
    this.nodes.delete(name);
    return json(res, 204);
  }
}
