/**
 * The subset of EMQX's REST API v5 that cutover uses, answered by one sandbox
 * node for the whole cluster from the backplane. Shapes, status codes and error
 * messages follow emqx_mgmt_api_nodes / _stats / _cluster and
 * emqx_node_rebalance_api.erl, as test/support/emqxApiServer.ts models them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { EmqxNodeInfo, NodeEvacuationStatus } from '../../domain/emqx/cluster';
import type { EvacuationRecord, Member } from './backplane';
import type { SandboxBroker } from './broker';
import { parseEvacuationRequest } from './evacuationRequest';

export interface ApiOptions {
  broker: SandboxBroker;
  cluster: string;
  apiKey: string;
  apiSecret: string;
}

type Listed = Member & { running: boolean };

const json = (res: ServerResponse, status: number, body?: unknown): void => {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
};
const error = (res: ServerResponse, status: number, code: string, message: string): void => json(res, status, { code, message });

async function readBody(req: IncomingMessage): Promise<string> {
  let data = '';
  req.setEncoding('utf8');
  for await (const chunk of req) data += chunk as string;
  return data;
}

export class EmqxApi {
  private readonly server: Server;

  constructor(private readonly o: ApiOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => error(res, 503, 'RPC_ERROR', `RPC error: ${(err as Error).message}`));
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private get state() {
    return this.o.broker.state;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emqx');
    const path = decodeURIComponent(url.pathname);
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return error(res, 400, 'BAD_REQUEST', 'Invalid JSON body');
    }
    // The load balancer's health check: no auth, about the answering node only.
    if (method === 'GET' && path === '/api/v5/load_rebalance/availability_check') {
      return this.o.broker.evacuation ? error(res, 503, 'NODE_EVACUATING', 'Node Evacuating') : json(res, 200, {});
    }
    // EMQX's Prometheus endpoint: no auth by default (prometheus.enable_basic_auth = false), about this node
    if (method === 'GET' && path === '/api/v5/prometheus/stats') {
      const { registry } = this.o.broker.metrics;
      res.writeHead(200, { 'content-type': registry.contentType });
      return void res.end(await registry.metrics());
    }
    if (!this.authorized(req)) return error(res, 401, 'BAD_API_KEY_OR_SECRET', 'Check api_key/api_secret');

    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/v5/nodes') {
      return json(res, 200, await Promise.all((await this.state.members()).map((n) => this.nodeInfo(n))));
    }
    if (method === 'GET' && (m = /^\/api\/v5\/nodes\/([^/]+)$/.exec(path))) {
      const n = (await this.state.members()).find((x) => x.node === m![1]);
      return n ? json(res, 200, await this.nodeInfo(n)) : error(res, 404, 'NOT_FOUND', 'Node not found');
    }
    if (method === 'GET' && path === '/api/v5/stats') return this.stats(res, url.searchParams.get('aggregate') === 'true');
    if (method === 'GET' && path === '/api/v5/cluster') {
      const running = (await this.state.members()).filter((n) => n.running).map((n) => n.node);
      return json(res, 200, { name: this.o.cluster, description: '', nodes: running, self: this.o.broker.node });
    }
    if (method === 'DELETE' && (m = /^\/api\/v5\/cluster\/([^/]+)\/force_leave$/.exec(path))) return this.forceLeave(res, m[1]!);
    if (method === 'GET' && path === '/api/v5/load_rebalance/global_status') return this.globalStatus(res);
    if (method === 'POST' && (m = /^\/api\/v5\/load_rebalance\/([^/]+)\/evacuation\/(start|stop)$/.exec(path))) {
      return m[2] === 'start' ? this.startEvacuation(res, m[1]!, body) : this.stopEvacuation(res, m[1]!);
    }
    return error(res, 404, 'NOT_FOUND', 'Request Path Not Found');
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return false;
    return Buffer.from(header.slice(6), 'base64').toString('utf8') === `${this.o.apiKey}:${this.o.apiSecret}`;
  }

  private async nodeInfo(n: Listed): Promise<EmqxNodeInfo> {
    // What emqx_mgmt reports for a node it cannot reach.
    if (!n.running) return { node: n.node, node_status: 'stopped', role: n.role };
    const c = await this.state.counts(n.node);
    return {
      node: n.node,
      node_status: 'running',
      version: n.version,
      role: n.role,
      edition: n.edition,
      connections: c.sessions,
      live_connections: c.live,
      uptime: Date.now() - n.startedAt,
    };
  }

  private async stats(res: ServerResponse, aggregate: boolean): Promise<void> {
    const running = (await this.state.members()).filter((n) => n.running);
    const counts = await Promise.all(running.map((n) => this.state.counts(n.node)));
    const of = (cs: typeof counts): Record<string, number> => {
      const sessions = cs.reduce((s, c) => s + c.sessions, 0);
      return { 'connections.count': sessions, 'live_connections.count': cs.reduce((s, c) => s + c.live, 0), 'sessions.count': sessions };
    };
    return json(res, 200, aggregate ? of(counts) : running.map((n, i) => ({ node: n.node, ...of([counts[i]!]) })));
  }

  private async globalStatus(res: ServerResponse): Promise<void> {
    const running = (await this.state.members()).filter((n) => n.running);
    const evacuations: NodeEvacuationStatus[] = [];
    for (const n of running) {
      const e = await this.state.evacuation(n.node);
      if (e) evacuations.push(await this.evacuationStatus(n.node, e));
    }
    return json(res, 200, { evacuations, purges: [], rebalances: [] });
  }

  private async evacuationStatus(node: string, e: EvacuationRecord): Promise<NodeEvacuationStatus> {
    const c = await this.state.counts(node);
    return {
      node,
      state: e.state,
      connection_eviction_rate: e.connRate,
      session_eviction_rate: e.sessRate,
      connection_goal: 0,
      session_goal: 0,
      session_recipients: e.migrateTo ?? (await this.state.available()).filter((n) => n !== node),
      stats: { initial_connected: e.initialConns, current_connected: c.live, initial_sessions: e.initialSessions, current_sessions: c.sessions },
    };
  }

  /** Looks a path node up as emqx_utils_api:with_node does, then as the RPC to it would fare. */
  private async reachable(res: ServerResponse, name: string): Promise<Listed | undefined> {
    const n = (await this.state.members()).find((x) => x.node === name);
    if (!n) return void error(res, 404, 'NOT_FOUND', `Node not found: ${name}`);
    if (!n.running) return void error(res, 503, 'RPC_ERROR', `RPC error on node '${name}': nodedown`);
    return n;
  }

  private async startEvacuation(res: ServerResponse, name: string, body: unknown): Promise<void> {
    const n = await this.reachable(res, name);
    if (!n) return;
    const r = parseEvacuationRequest(body);
    if ('badRequest' in r) return error(res, 400, 'BAD_REQUEST', r.badRequest);
    if (r.migrateTo) {
      const available = await this.state.available();
      const unavailable = r.migrateTo.filter((x) => !available.includes(x));
      if (unavailable.length > 0) return error(res, 400, 'NOT_FOUND', `Nodes unavailable: [${unavailable.map((u) => `'${u}'`).join(',')}]`);
    }
    const counts = await this.state.counts(name);
    const started = await this.state.startEvacuation(name, {
      ...r,
      state: 'waiting_health_check',
      initialConns: counts.live,
      initialSessions: counts.sessions,
      since: Date.now(),
    });
    if (!started) return error(res, 400, 'BAD_REQUEST', `error on node '${name}': already_started`);
    return json(res, 200, {});
  }

  private async stopEvacuation(res: ServerResponse, name: string): Promise<void> {
    if (!(await this.reachable(res, name))) return;
    if (!(await this.state.stopEvacuation(name))) return error(res, 400, 'BAD_REQUEST', `error on node '${name}': not_started`);
    return json(res, 200, {});
  }

  private async forceLeave(res: ServerResponse, name: string): Promise<void> {
    if (!name.includes('@')) return error(res, 400, 'BAD_REQUEST', 'Bad node name');
    if (name === this.o.broker.node) return error(res, 400, 'BAD_REQUEST', "Can't leave self");
    if (!(await this.state.forget(name))) return error(res, 400, 'BAD_REQUEST', 'node_not_in_cluster');
    return json(res, 204);
  }
}
