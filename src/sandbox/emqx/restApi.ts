/**
 * The part of EMQX's REST API v5 that cutover uses, answered as the EMQX
 * version and edition of the answering node does (src/domain/emqx/versions.ts):
 * the same paths, status codes, bodies and error messages as the contract
 * fixtures (test/fixtures/contracts/emqx), which name the source of each.
 * Over a ClusterView, so the sandbox node (a cluster on Redis) and the test
 * suite's EMQX API (a cluster in memory) answer alike.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiShape, hasEvacuation, type EmqxEdition, type EmqxRelease } from '../../domain/emqx/versions';
import { startEvacuation, type EvacuationRecord } from './evacuation';
import { parseEvacuationRequest } from './evacuationRequest';

/** A node as the answering node's cluster knows it. */
export interface ViewNode {
  node: string;
  role: 'core' | 'replicant';
  version: string;
  edition: EmqxEdition;
  running: boolean;
  /** Running, but RPCs to it fail. */
  unreachable?: boolean;
  /** Another process holds its eviction agent. */
  agentBusy?: boolean;
  /** Epoch ms of its start. */
  startedAt: number;
  live: number;
  sessions: number;
}

/** The cluster as one node's API sees it, and the changes the API makes to it. */
export interface ClusterView {
  /** The node that answers. */
  readonly self: string;
  readonly clusterName: string;
  /** Every node mria lists: running ones and stopped cores (a stopped replicant is forgotten). */
  nodes(): Promise<ViewNode[]>;
  /** Whether a name is an atom on the node: any node it ever met. */
  known(node: string): Promise<boolean>;
  evacuation(node: string): Promise<EvacuationRecord | null>;
  /** false when one is recorded already. */
  startEvacuation(node: string, r: EvacuationRecord): Promise<boolean>;
  /** false when none was recorded. */
  stopEvacuation(node: string): Promise<boolean>;
  /** Removes a member; false when it is none. */
  forget(node: string): Promise<boolean>;
  /** Epoch ms now (the test server's is simulated). */
  now(): number;
}

export interface RestApiOptions {
  view: ClusterView;
  release: EmqxRelease;
  apiKey: string;
  apiSecret: string;
  /** The node's own Prometheus text (no auth, as emqx_prometheus serves it by default). */
  prometheus?: () => Promise<{ contentType: string; text: string }>;
}

type Reply = { status: number; body?: unknown };
const ok = (body: unknown): Reply => ({ status: 200, body });
const fail = (status: number, code: string, message: string): Reply => ({ status, body: { code, message } });

/** An atom as io_lib:format("~p") prints it: quoted unless it is lowercase letters, digits, _ and @. */
export const atom = (name: string): string => (/^[a-z][a-zA-Z0-9_@]*$/.test(name) ? name : `'${name.replace(/'/g, "\\'")}'`);

/** `?NODE_NOT_FOUND` of with_node (emqx_utils_api.erl, emqx_mgmt_api_lib.erl from e5.9.1). */
const nodeNotFound = (node: string): Reply => fail(404, 'NOT_FOUND', `Node not found: ${node}`);
const rpcDown = (node: string): Reply => fail(503, 'RPC_ERROR', `RPC error on node ${atom(node)}: nodedown`);
const onNode = (node: string, reason: string): Reply => fail(400, 'BAD_REQUEST', `error on node ${atom(node)}: ${reason}`);

export class EmqxRestApi {
  constructor(private readonly o: RestApiOptions) {}

  private get view(): ClusterView {
    return this.o.view;
  }

  /** Answers one request; the caller has read its body. */
  async handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emqx');
    const reply = await this.answer(req.method ?? 'GET', decodeURIComponent(url.pathname), url.searchParams, raw, req.headers);
    if ('text' in reply) {
      res.writeHead(200, { 'content-type': reply.contentType });
      return void res.end(reply.text);
    }
    // The dashboard's not-found page follows Accept (emqx_dashboard_not_found.erl).
    if (reply.status === 404 && (reply.body as { message?: string }).message === 'Request Path Not Found' && !/application\/json/.test(req.headers.accept ?? '')) {
      res.writeHead(404, { 'content-type': 'text/html' });
      return void res.end('<html><head><title>404 - NOT FOUND</title></head><body><h1>404 - NOT FOUND</h1></body></html>');
    }
    res.writeHead(reply.status, reply.body === undefined ? {} : { 'content-type': 'application/json' });
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  private async answer(method: string, path: string, query: URLSearchParams, raw: string, headers: IncomingMessage['headers']): Promise<Reply | { contentType: string; text: string }> {
    const rebalance = path.startsWith('/api/v5/load_rebalance/');
    // emqx_node_rebalance is not in the open source release before 5.9: its paths do not exist.
    if (rebalance && !hasEvacuation(this.o.release)) return fail(404, 'NOT_FOUND', 'Request Path Not Found');
    // No auth from 5.4.0 (security => []): a load balancer's health check.
    if (method === 'GET' && path === '/api/v5/load_rebalance/availability_check' && apiShape(this.o.release.version).busyRefusedAtStart) return this.availability();
    if (method === 'GET' && path === '/api/v5/prometheus/stats' && this.o.prometheus) return this.o.prometheus();
    if (!this.authorized(headers.authorization)) return fail(401, 'BAD_API_KEY_OR_SECRET', 'Check api_key/api_secret');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return fail(400, 'BAD_REQUEST', 'Invalid JSON body');
    }
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/v5/nodes') return ok(await this.nodeList());
    if (method === 'GET' && (m = /^\/api\/v5\/nodes\/([^/]+)$/.exec(path))) return this.nodeInfo(m[1]!);
    if (method === 'GET' && path === '/api/v5/stats') return this.stats(query.get('aggregate') === 'true');
    if (method === 'GET' && path === '/api/v5/cluster') {
      const running = (await this.view.nodes()).filter((n) => n.running).map((n) => n.node);
      return ok({ name: this.view.clusterName, nodes: running, self: this.view.self });
    }
    if (method === 'DELETE' && (m = /^\/api\/v5\/cluster\/([^/]+)\/force_leave$/.exec(path))) return this.forceLeave(m[1]!);
    if (method === 'GET' && path === '/api/v5/load_rebalance/availability_check') return this.availability();
    if (method === 'GET' && path === '/api/v5/load_rebalance/global_status') return this.globalStatus();
    if (method === 'POST' && (m = /^\/api\/v5\/load_rebalance\/([^/]+)\/evacuation\/(start|stop)$/.exec(path))) {
      return m[2] === 'start' ? this.startEvacuation(m[1]!, body) : this.stopEvacuation(m[1]!);
    }
    return fail(404, 'NOT_FOUND', 'Request Path Not Found');
  }

  private authorized(header: string | undefined): boolean {
    if (!header?.startsWith('Basic ')) return false;
    return Buffer.from(header.slice(6), 'base64').toString('utf8') === `${this.o.apiKey}:${this.o.apiSecret}`;
  }

  /** Every node, in mria's order: lists:usort of the names, byte by byte (mria:running_nodes/0). */
  private async sorted(): Promise<ViewNode[]> {
    return (await this.view.nodes()).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /** Nodes that answer their RPCs. */
  private async answering(): Promise<ViewNode[]> {
    return (await this.sorted()).filter((n) => n.running && !n.unreachable);
  }

  /** emqx_mgmt.erl node_info/0, formatted by emqx_mgmt_api_nodes.erl (memory as "256.00M"). */
  private info(n: ViewNode, clusterSessions: number): Record<string, unknown> {
    return {
      node: n.node,
      connections: n.sessions,
      live_connections: n.live,
      ...(apiShape(n.version).clusterSessions ? { cluster_sessions: clusterSessions } : {}),
      load1: 0,
      load5: 0,
      load15: 0,
      max_fds: 1_048_576,
      memory_total: '0.00M',
      memory_used: '0.00M',
      node_status: 'running',
      otp_release: '26.2.5/14.2.5',
      process_available: 2_097_152,
      process_used: 0,
      uptime: Math.max(0, this.view.now() - n.startedAt),
      version: n.version,
      edition: n.edition,
      role: n.role,
      log_path: 'log.file.enable is false, not logging to file.',
      sys_path: '/opt/emqx',
    };
  }

  /** Running nodes whose info RPC answered, then stopped cores as stopped_node_info/1 gives them. */
  private async nodeList(): Promise<Record<string, unknown>[]> {
    const all = await this.sorted();
    const up = all.filter((n) => n.running && !n.unreachable);
    const sessions = up.reduce((s, n) => s + n.sessions, 0);
    const stopped = all.filter((n) => !n.running && n.role === 'core').map((n) => ({ node: n.node, node_status: 'stopped', role: 'core' }));
    return [...up.map((n) => this.info(n, sessions)), ...stopped];
  }

  private async nodeInfo(name: string): Promise<Reply> {
    const all = await this.view.nodes();
    const n = all.find((x) => x.node === name && x.running);
    if (!n) return nodeNotFound(name);
    // lookup_node's RPC failed: get_node has no clause for the error and the handler crashes.
    if (n.unreachable) return fail(500, 'INTERNAL_ERROR', `function_clause: ${name}`);
    return ok(this.info(n, (await this.answering()).reduce((s, x) => s + x.sessions, 0)));
  }

  private async stats(aggregate: boolean): Promise<Reply> {
    const up = await this.answering();
    const of = (ns: ViewNode[]): Record<string, number> => {
      const sessions = ns.reduce((s, n) => s + n.sessions, 0);
      return { 'connections.count': sessions, 'live_connections.count': ns.reduce((s, n) => s + n.live, 0), 'sessions.count': sessions };
    };
    return ok(aggregate ? of(up) : up.map((n) => ({ node: n.node, ...of([n]) })));
  }

  private async availability(): Promise<Reply> {
    return (await this.view.evacuation(this.view.self)) ? fail(503, 'NODE_EVACUATING', 'Node Evacuating') : ok({});
  }

  /** emqx_node_rebalance_status.erl global_status/0: a multicall to the running nodes; those that fail are left out. */
  private async globalStatus(): Promise<Reply> {
    const evacuations: Record<string, unknown>[] = [];
    for (const n of await this.answering()) {
      const e = await this.view.evacuation(n.node);
      if (!e) continue;
      evacuations.push({
        node: n.node,
        state: e.state,
        connection_eviction_rate: e.connRate,
        session_eviction_rate: e.sessRate,
        connection_goal: 0,
        session_goal: 0,
        session_recipients: await this.recipients(n.node, e.migrateTo),
        stats: { initial_connected: e.initialConns, current_connected: e.currentConns, initial_sessions: e.initialSessions, current_sessions: e.currentSessions },
      });
    }
    return ok({ evacuations, rebalances: [], ...(apiShape(this.o.release.version).purges ? { purges: [] } : {}) });
  }

  /** migrate_to(MigrateTo): the given nodes, or every other running one, that are available (running, answering, not evacuating). */
  private async recipients(from: string, migrateTo: string[] | undefined): Promise<string[]> {
    const available: string[] = [];
    for (const n of await this.answering()) if (n.node !== from && !(await this.view.evacuation(n.node))) available.push(n.node);
    return migrateTo ? migrateTo.filter((n) => available.includes(n)) : available;
  }

  /** with_node: the node must be in mria:running_nodes() (an unreachable one is). */
  private async runningNode(name: string): Promise<ViewNode | undefined> {
    return (await this.view.nodes()).find((x) => x.node === name && x.running);
  }

  private async startEvacuation(name: string, body: unknown): Promise<Reply> {
    // The dashboard checks the body against the schema before the handler runs.
    const r = parseEvacuationRequest(this.o.release.version, body);
    if ('badRequest' in r) return fail(400, 'BAD_REQUEST', r.badRequest);
    const n = await this.runningNode(name);
    if (!n) return nodeNotFound(name);
    if (r.migrateTo) {
      // validate_nodes: names that are no atom here are invalid; the rest must be available.
      const invalid = [];
      for (const x of r.migrateTo) if (!(await this.view.known(x))) invalid.push(x);
      if (invalid.length > 0) return fail(400, 'BAD_REQUEST', `Invalid nodes: [${invalid.reverse().map((x) => `<<"${x}">>`).join(',')}]`);
      const available = await this.recipients('', r.migrateTo);
      const unavailable = r.migrateTo.filter((x) => !available.includes(x)).reverse();
      if (unavailable.length > 0) return fail(400, 'NOT_FOUND', `Nodes unavailable: [${unavailable.map(atom).join(',')}]`);
    }
    if (n.unreachable) return rpcDown(name);
    if (await this.view.evacuation(name)) return onNode(name, 'already_started');
    const busyRefused = apiShape(n.version).busyRefusedAtStart;
    if (n.agentBusy && busyRefused) return onNode(name, 'eviction_agent_busy');
    const record = startEvacuation(r, { now: this.view.now(), live: n.live, sessions: n.sessions }, n.agentBusy);
    if (!(await this.view.startEvacuation(name, record))) return onNode(name, 'already_started');
    return ok({});
  }

  private async stopEvacuation(name: string): Promise<Reply> {
    const n = await this.runningNode(name);
    if (!n) return nodeNotFound(name);
    if (n.unreachable) return rpcDown(name);
    return (await this.view.stopEvacuation(name)) ? ok({}) : onNode(name, 'not_started');
  }

  /**
   * emqx_mgmt_api_cluster.erl force_leave/2 over mria:force_leave/1: self is
   * ignored ("Can't leave self"); a member leaves (a running one is made to
   * leave, a stopped core's schema copy is deleted); anything else is
   * node_not_in_cluster.
   */
  private async forceLeave(name: string): Promise<Reply> {
    if (name.split('@').length !== 2) return fail(400, 'BAD_REQUEST', JSON.stringify({ kind: 'validation_error', path: 'root.node', reason: 'Bad node name', value: name }));
    if (name === this.view.self) return fail(400, 'BAD_REQUEST', "Can't leave self");
    const member = (await this.view.nodes()).some((n) => n.node === name);
    if (!member || !(await this.view.forget(name))) return fail(400, 'BAD_REQUEST', 'node_not_in_cluster');
    return { status: 204 };
  }
}
