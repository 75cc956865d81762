/**
 * EMQX activities over the REST API v5: cluster health, node evacuation and
 * membership clean-up. The worker resolves URL and credentials from the
 * target's configuration when an activity runs, so none of them ever enters
 * workflow input or history. Every activity is safe to retry.
 */
import { ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import { readSecret, type TargetLookup } from '../../config/targets';
import { EVACUATION_UNAVAILABLE } from '../../domain/emqx/errors';
import type { EmqxAccess } from '../../domain/emqx/schema';
import {
  assessCluster,
  describeHealth,
  nodeEvacuationsStatus,
  type ClusterHealth,
  type EmqxNodeInfo,
  type NodeEvacuationStatus,
  emqxNodeName,
} from '../../domain/emqx/cluster';

export interface EmqxActivitiesDeps {
  targets: TargetLookup;
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  /** Per HTTP request; an EMQX that does not answer in time counts as unreachable. */
  requestTimeoutMs?: number;
  /** How often the waits poll; tests shorten it. */
  pollMs?: number;
}

export interface StartEvacuationInput {
  target: string;
  node: string;
  connEvictRate: number;
  sessEvictRate: number;
  waitTakeoverSec: number;
  waitHealthCheckSec: number;
  /** Nodes that receive the sessions (the green nodes). */
  migrateTo: string[];
  /** host:port that MQTT 5 clients are told to reconnect to. */
  redirectTo?: string;
}

export interface ConnectionCounts {
  total: { connections: number; sessions: number };
  nodes: { node: string; status: string; connections: number; sessions: number }[];
}

const DEFAULT_POLL_MS = 1000;
const FIRST_FOLLOW_MS = 20;

interface Reply {
  status: number;
  body: unknown;
}

/** EMQX error bodies are `{code, message}`. */
function errorText(r: Reply): string {
  const b = r.body as { code?: unknown; message?: unknown } | undefined;
  return typeof b?.code === 'string' ? `${r.status} ${b.code}: ${String(b.message ?? '')}` : `HTTP ${r.status}`;
}
const errorCode = (r: Reply): unknown => (r.body as { code?: unknown } | undefined)?.code;
const mentions = (r: Reply, word: string): boolean => errorText(r).includes(word);

function causeOf(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

class EmqxApi {
  constructor(
    private readonly target: string,
    private readonly access: EmqxAccess,
    private readonly authorization: string,
    private readonly fetchFn: typeof fetch,
    private readonly timeoutMs: number,
  ) {}

  private get base(): string {
    return this.access.apiUrl.replace(/\/+$/, '');
  }

  async call(method: string, path: string, body?: unknown): Promise<Reply> {
    const url = `${this.base}/api/v5${path}`;
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(url, {
        method,
        headers: { authorization: this.authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw ApplicationFailure.retryable(`EMQX API of target '${this.target}' at ${this.base} is unreachable: ${causeOf(err)}`, 'Unreachable');
    }
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): keep the text for the message.
    }
    const reply = { status: res.status, body: parsed };
    if (res.status === 401 || res.status === 403) {
      throw ApplicationFailure.nonRetryable(
        `EMQX API of target '${this.target}' at ${this.base} refused its credentials (${errorText(reply)}); ` +
          `check the API key and secret in ${this.access.apiKey.env} and ${this.access.apiSecret.env} on the worker`,
        'Unauthorized',
      );
    }
    return reply;
  }

  /** A reply the caller did not expect: 5xx may pass, anything else will not. */
  unexpected(what: string, r: Reply): ApplicationFailure {
    const msg = `${what} on EMQX of target '${this.target}' at ${this.base} failed: ${errorText(r)}`;
    return r.status >= 500 ? ApplicationFailure.retryable(msg, 'EmqxUnavailable') : ApplicationFailure.nonRetryable(msg, 'Invalid');
  }

  nodeNotFound(node: string): ApplicationFailure {
    return ApplicationFailure.nonRetryable(`EMQX of target '${this.target}' at ${this.base} has no node ${node}`, 'NotFound');
  }

  unavailable(): ApplicationFailure {
    return ApplicationFailure.nonRetryable(
      `EMQX of target '${this.target}' at ${this.base} has no node evacuation API (404 on /api/v5/load_rebalance): drain by removing pods instead`,
      EVACUATION_UNAVAILABLE,
    );
  }

  async nodes(): Promise<EmqxNodeInfo[]> {
    const r = await this.call('GET', '/nodes');
    if (r.status !== 200 || !Array.isArray(r.body)) throw this.unexpected('listing nodes', r);
    return r.body as EmqxNodeInfo[];
  }

  /** null when this edition has no load_rebalance API. */
  async evacuations(): Promise<NodeEvacuationStatus[] | null> {
    const r = await this.call('GET', '/load_rebalance/global_status');
    if (r.status === 404) return null;
    if (r.status !== 200) throw this.unexpected('reading evacuation status', r);
    return nodeEvacuationsStatus(r.body);
  }
}

const nodePath = (node: string): string => encodeURIComponent(node);

export function createEmqxActivities(deps: EmqxActivitiesDeps) {
  const fetchFn = deps.fetch ?? fetch;
  const timeoutMs = deps.requestTimeoutMs ?? 10_000;

  function api(target: string): EmqxApi {
    let access: EmqxAccess | undefined;
    let key: string;
    let secret: string;
    try {
      access = deps.targets(target).emqx;
      if (!access) throw new Error(`target '${target}' has no emqx section (apiUrl, apiKey, apiSecret) in the worker's configuration`);
      key = readSecret(access.apiKey, deps.env);
      secret = readSecret(access.apiSecret, deps.env);
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'Misconfigured');
    }
    const authorization = `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
    return new EmqxApi(target, access, authorization, fetchFn, timeoutMs);
  }

  async function health(client: EmqxApi, expectNodes: string[]): Promise<ClusterHealth> {
    return assessCluster(expectNodes, await client.nodes());
  }

  async function evacuationOf(client: EmqxApi, node: string): Promise<NodeEvacuationStatus | undefined> {
    const list = await client.evacuations();
    if (list === null) throw client.unavailable();
    return list.find((e) => e.node === node);
  }

  return {
    /** The EMQX node names of the given pods, from the target's nodeName template. */
    async emqxNodeNames(input: { target: string; pods: string[] }): Promise<string[]> {
      const t = deps.targets(input.target);
      const template = t.emqx?.nodeName ?? 'emqx@{pod}';
      return input.pods.map((pod) => emqxNodeName(template, pod, t.kubernetes?.namespace));
    },

    /** Per expected node: status, version, membership; healthy only if all are running members. */
    async clusterHealth(input: { target: string; expectNodes: string[] }): Promise<ClusterHealth> {
      return health(api(input.target), input.expectNodes);
    },

    /**
     * Checks at once, then polls until every listed node is a running member;
     * heartbeats the progress. The workflow bounds it. Traffic waits on this
     * right after green's pods turned Ready, when a node is joining or about
     * to: the first polls come quickly (from 20 ms, doubling up to pollMs).
     */
    async waitClusterJoined(input: { target: string; nodes: string[]; pollMs?: number }): Promise<ClusterHealth> {
      const client = api(input.target);
      for (let next = FIRST_FOLLOW_MS; ; next *= 2) {
        const h = await health(client, input.nodes);
        heartbeat({ health: describeHealth(h) });
        if (h.healthy) return h;
        await sleep(Math.min(next, input.pollMs ?? deps.pollMs ?? DEFAULT_POLL_MS));
      }
    },

    /** Starts evacuating a node; a node already evacuating counts as started (a retry, or a resumed upgrade). */
    async startEvacuation(input: StartEvacuationInput): Promise<{ alreadyStarted: boolean }> {
      const client = api(input.target);
      if (await evacuationOf(client, input.node)) return { alreadyStarted: true };
      const r = await client.call('POST', `/load_rebalance/${nodePath(input.node)}/evacuation/start`, {
        conn_evict_rate: input.connEvictRate,
        sess_evict_rate: input.sessEvictRate,
        wait_takeover: `${input.waitTakeoverSec}s`,
        wait_health_check: `${input.waitHealthCheckSec}s`,
        migrate_to: input.migrateTo,
        ...(input.redirectTo === undefined ? {} : { redirect_to: input.redirectTo }),
      });
      if (r.status === 200) return { alreadyStarted: false };
      if (r.status === 400 && mentions(r, 'already_started')) return { alreadyStarted: true };
      // global_status answered, so the API exists: a 404 here is about the node.
      if (r.status === 404) throw client.nodeNotFound(input.node);
      // Busy with a rebalance, or a migrate_to node momentarily unavailable: worth another try.
      if (r.status === 400 && (mentions(r, 'eviction_agent_busy') || errorCode(r) === 'NOT_FOUND')) {
        throw ApplicationFailure.retryable(`cannot start evacuation of ${input.node} yet: ${errorText(r)}`, 'EvacuationBusy');
      }
      throw client.unexpected(`starting evacuation of ${input.node}`, r);
    },

    /**
     * Heartbeats the node's evacuation status until it is `prohibiting`. After a
     * worker crash the retry simply observes again: the state lives in EMQX.
     */
    async waitEvacuated(input: { target: string; node: string; pollMs?: number }): Promise<NodeEvacuationStatus> {
      const client = api(input.target);
      for (;;) {
        const status = await evacuationOf(client, input.node);
        if (!status) {
          throw ApplicationFailure.nonRetryable(
            `node ${input.node} of target '${input.target}' is not evacuating: its evacuation was stopped or the node went down`,
            'NotEvacuating',
          );
        }
        heartbeat(status);
        if (status.state === 'prohibiting') return status;
        await sleep(input.pollMs ?? deps.pollMs ?? DEFAULT_POLL_MS);
      }
    },

    /** Stops a node's evacuation; a node not evacuating (or gone, or an edition without the API) is already stopped. */
    async stopEvacuation(input: { target: string; node: string }): Promise<{ wasEvacuating: boolean }> {
      const client = api(input.target);
      const r = await client.call('POST', `/load_rebalance/${nodePath(input.node)}/evacuation/stop`);
      if (r.status === 200) return { wasEvacuating: true };
      if (r.status === 404 || (r.status === 400 && mentions(r, 'not_started'))) return { wasEvacuating: false };
      throw client.unexpected(`stopping evacuation of ${input.node}`, r);
    },

    /** Every running evacuation in the operator's `nodeEvacuationsStatus` shape; empty without the API. */
    async evacuationStatus(input: { target: string }): Promise<NodeEvacuationStatus[]> {
      return (await api(input.target).evacuations()) ?? [];
    },

    /**
     * Removes a stopped node from the cluster's membership, so retired blue
     * nodes are not listed forever (emqx-operator #1021). A node still running
     * is refused for now (retryable): scaled-down pods take a moment to stop.
     */
    async forgetNode(input: { target: string; node: string }): Promise<{ removed: boolean }> {
      const client = api(input.target);
      const info = await client.call('GET', `/nodes/${nodePath(input.node)}`);
      if (info.status === 404) return { removed: false };
      if (info.status !== 200) throw client.unexpected(`reading node ${input.node}`, info);
      if ((info.body as EmqxNodeInfo).node_status === 'running') {
        throw ApplicationFailure.retryable(`node ${input.node} of target '${input.target}' is still running; it is removed from the cluster once stopped`, 'NodeRunning');
      }
      const r = await client.call('DELETE', `/cluster/${nodePath(input.node)}/force_leave`);
      if (r.status === 204 || r.status === 200) return { removed: true };
      if (r.status === 400 && mentions(r, 'node_not_in_cluster')) return { removed: false };
      throw client.unexpected(`removing node ${input.node} from the cluster`, r);
    },

    /** Live connections and sessions, in total and per node. */
    async connectionCounts(input: { target: string }): Promise<ConnectionCounts> {
      const client = api(input.target);
      const [nodes, stats] = await Promise.all([client.nodes(), client.call('GET', '/stats?aggregate=true')]);
      if (stats.status !== 200) throw client.unexpected('reading stats', stats);
      const s = stats.body as Record<string, unknown>;
      const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
      return {
        total: { connections: n(s['live_connections.count']), sessions: n(s['sessions.count']) },
        nodes: nodes.map((x) => ({ node: x.node, status: x.node_status, connections: n(x.live_connections), sessions: n(x.connections) })),
      };
    },
  };
}

export type EmqxActivities = ReturnType<typeof createEmqxActivities>;
