/**
 * EMQX activities over the REST API v5: cluster health, the running release,
 * node evacuation and membership clean-up. The worker resolves URL and
 * credentials from the target's configuration when an activity runs, so none
 * of them ever enters workflow input or history. Every activity is safe to
 * retry, and decides what an answer means from what the real EMQX means by it
 * (see the contract fixtures in test/fixtures/contracts/emqx).
 */
import { ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import { AggregateStats, type EvacuationEntry, type ListedNode, type RunningNode } from '../../domain/emqx/answers';
import { assessCluster, describeHealth, emqxNodeName, type ClusterHealth, type NodeEvacuationStatus } from '../../domain/emqx/cluster';
import type { EmqxRelease } from '../../domain/emqx/versions';
import type { PodInfo } from '../../domain/platform';
import { targetAccess, type TargetAccessDeps } from '../targetAccess';
import { readInWait } from '../transient';
import { EmqxClient, errorOf, errorText, isNodeNotRunning, isPathNotFound, rpcError } from './client';

export interface EmqxActivitiesDeps extends TargetAccessDeps {
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
  waitTakeoverMs: number;
  waitHealthCheckMs: number;
  /** What a worker before the normaliser scheduled (seconds): a task retried on this worker may still carry them. */
  waitTakeoverSec?: number;
  waitHealthCheckSec?: number;
  /** Nodes that receive the sessions (the green nodes). */
  migrateTo: string[];
}

export interface ConnectionCounts {
  total: { connections: number; sessions: number };
  nodes: { node: string; status: string; connections: number; sessions: number }[];
}

const DEFAULT_POLL_MS = 1000;
const FIRST_FOLLOW_MS = 20;
/**
 * global_status leaves out a running node whose status RPC failed (the
 * multicall drops bad nodes), so a node missing from it once may still be
 * evacuating: only this many misses in a row, the node listed running each
 * time, say for sure that its evacuation ended.
 */
const MISSES_BEFORE_GONE = 3;

const running = (n: ListedNode | undefined): n is RunningNode => n?.node_status === 'running';

export function createEmqxActivities(deps: EmqxActivitiesDeps) {
  const fetchFn = deps.fetch ?? fetch;
  const timeoutMs = deps.requestTimeoutMs ?? 10_000;

  const targets = targetAccess(deps);

  function api(target: string): EmqxClient {
    const access = targets.block(target, 'emqx');
    const authorization = `Basic ${Buffer.from(`${targets.secret(access.apiKey)}:${targets.secret(access.apiSecret)}`).toString('base64')}`;
    return new EmqxClient(target, access, authorization, fetchFn, timeoutMs);
  }

  async function evacuationOf(client: EmqxClient, node: string): Promise<EvacuationEntry | undefined> {
    const list = await client.evacuations();
    if (list === null) throw client.unavailable();
    return list.find((e) => e.node === node);
  }

  const pollMs = (given?: number): number => given ?? deps.pollMs ?? DEFAULT_POLL_MS;

  return {
    /** The EMQX node names of the given pods, from the target's nodeName template; a pod without the IP its name needs is left out. */
    async emqxNodeNames(input: { target: string; pods: (string | Pick<PodInfo, 'name' | 'ip'>)[] }): Promise<string[]> {
      const t = targets.config(input.target);
      const template = t.emqx?.nodeName ?? 'emqx@{pod}';
      return input.pods
        .map((p) => emqxNodeName(template, typeof p === 'string' ? { name: p } : p, t.kubernetes?.namespace))
        .filter((n): n is string => n !== null);
    },

    /** Per expected node: status, version, membership; healthy only if all are running members. */
    async clusterHealth(input: { target: string; expectNodes: string[] }): Promise<ClusterHealth> {
      return assessCluster(input.expectNodes, await api(input.target).nodes());
    },

    /**
     * The cluster's health once every expected node is a running member; until
     * then a retryable failure, so the step reads again within its time limit.
     * One reading cannot tell a node gone from one that answers slowly: GET
     * /nodes leaves out a running node whose node-info RPC failed
     * (emqx_mgmt:list_nodes/0 keeps only the infos that came back), and a
     * stopped core may be a pod restarting.
     */
    async healthyCluster(input: { target: string; expectNodes: string[] }): Promise<ClusterHealth> {
      const h = assessCluster(input.expectNodes, await api(input.target).nodes());
      if (h.healthy) return h;
      throw ApplicationFailure.retryable(`cluster unhealthy: ${describeHealth(h)} (a running node whose node-info RPC failed is not listed in GET /api/v5/nodes)`, 'ClusterUnhealthy', h);
    },

    /**
     * The releases the running nodes report (`version`, `edition` of GET
     * /nodes), one entry per distinct pair: what plan checks against the
     * support matrix. A cluster with no running node listed is refused.
     */
    async clusterReleases(input: { target: string }): Promise<EmqxRelease[]> {
      const client = api(input.target);
      const nodes = (await client.nodes()).filter(running);
      if (nodes.length === 0) throw ApplicationFailure.nonRetryable(`${client.where} lists no running node`, 'Unhealthy');
      const seen = new Map(nodes.map((n) => [`${n.version} ${n.edition}`, { version: n.version, edition: n.edition }]));
      return [...seen.values()];
    },

    /**
     * Checks at once, then polls until every listed node is a running member;
     * heartbeats the progress. The workflow bounds it. Traffic waits on this
     * right after green's pods turned Ready, when a node is joining or about
     * to: the first polls come quickly (from 20 ms, doubling up to pollMs).
     * `healthOf`: the nodes whose health it returns, from the reading that
     * found `nodes` joined (default: `nodes`).
     */
    async waitClusterJoined(input: { target: string; nodes: string[]; pollMs?: number; healthOf?: string[] }): Promise<ClusterHealth> {
      const client = api(input.target);
      for (let next = FIRST_FOLLOW_MS; ; next *= 2) {
        const listed = await readInWait(() => client.nodes());
        const h = 'ok' in listed ? assessCluster(input.nodes, listed.ok) : undefined;
        heartbeat({ health: h ? describeHealth(h) : `the node list did not answer: ${'failed' in listed ? listed.failed : ''}` });
        if (h?.healthy && 'ok' in listed) return input.healthOf ? assessCluster(input.healthOf, listed.ok) : h;
        await sleep(Math.min(next, pollMs(input.pollMs)));
      }
    },

    /**
     * Starts evacuating a node; a node already evacuating counts as started
     * (a retry, or a resumed upgrade). The body carries only what the
     * evacuation reads, the waits in integer seconds (rounded up), which every
     * supported version takes (`wait_takeover` is a pos_integer at 5.1.0, a
     * duration from 5.1.1); `redirect_to` is left out: the API accepts it and the
     * evacuation never reads it.
     */
    async startEvacuation(input: StartEvacuationInput): Promise<{ alreadyStarted: boolean }> {
      const client = api(input.target);
      if (await evacuationOf(client, input.node)) return { alreadyStarted: true };
      const r = await client.call('POST', `/load_rebalance/${encodeURIComponent(input.node)}/evacuation/start`, {
        conn_evict_rate: input.connEvictRate,
        sess_evict_rate: input.sessEvictRate,
        wait_takeover: Math.max(1, Math.ceil((input.waitTakeoverMs ?? input.waitTakeoverSec! * 1000) / 1000)),
        wait_health_check: Math.ceil((input.waitHealthCheckMs ?? input.waitHealthCheckSec! * 1000) / 1000),
        migrate_to: input.migrateTo,
      });
      if (r.status === 200) return { alreadyStarted: false };
      if (isPathNotFound(r)) throw client.unavailable();
      const reason = rpcError(r);
      if (reason === 'already_started') return { alreadyStarted: true };
      // Another process (a rebalance, a purge) holds the node's eviction agent: it lets go when done.
      if (reason === 'eviction_agent_busy') throw ApplicationFailure.retryable(`cannot start evacuation of ${input.node} yet: ${errorText(r)}`, 'EvacuationBusy');
      // with_nodes_at_key: a green node not running, or not yet available (starting, evacuating).
      if (r.status === 400 && errorOf(r)?.code === 'NOT_FOUND') {
        throw ApplicationFailure.retryable(`cannot start evacuation of ${input.node} yet: ${errorText(r)}`, 'RecipientsUnavailable');
      }
      if (isNodeNotRunning(r)) {
        // A stopped member comes back (its pod restarts); a node the cluster does not list never will.
        const listed = (await client.nodes()).find((n) => n.node === input.node);
        if (listed) throw ApplicationFailure.retryable(`${input.node} of target '${input.target}' is ${listed.node_status}; evacuating it once it runs`, 'NodeNotRunning');
        throw ApplicationFailure.nonRetryable(`${client.where} has no node ${input.node}`, 'NotFound');
      }
      throw client.unexpected(`starting evacuation of ${input.node}`, r);
    },

    /**
     * Heartbeats the node's evacuation status until it is `prohibiting`. After a
     * worker crash the retry simply observes again: the state lives in EMQX.
     * A node missing from global_status is confirmed before this fails: a
     * node that is not running resumes its evacuation when it runs again
     * (EMQX persists it), so that is waited for.
     */
    async waitEvacuated(input: { target: string; node: string; pollMs?: number }): Promise<NodeEvacuationStatus> {
      const client = api(input.target);
      for (let misses = 0; ; ) {
        const read = await readInWait(async () => {
          const status = await evacuationOf(client, input.node);
          return { status, listed: status ? undefined : (await client.nodes()).find((n) => n.node === input.node) };
        });
        if ('failed' in read) {
          // no answer is no news: the evacuation goes on in EMQX whether or not its status can be read now
          heartbeat({ node: input.node, state: `status unread: ${read.failed}` });
        } else if (read.ok.status) {
          const { status } = read.ok;
          misses = 0;
          heartbeat(status);
          if (status.state === 'prohibiting') return status;
        } else if (running(read.ok.listed)) {
          misses += 1;
          if (misses >= MISSES_BEFORE_GONE) {
            throw ApplicationFailure.nonRetryable(
              `node ${input.node} of target '${input.target}' runs but is not evacuating: its evacuation was stopped (or, before EMQX 5.4, ended because another process held its eviction agent)`,
              'NotEvacuating',
            );
          }
        } else {
          misses = 0;
          heartbeat({ node: input.node, state: 'not running: its evacuation resumes when it runs again' });
        }
        await sleep(pollMs(input.pollMs));
      }
    },

    /**
     * Stops a node's evacuation; a node not evacuating, not running or on an
     * edition without the API is already stopped (a stopped node resumes a
     * persisted evacuation when it starts: the caller stops it again then).
     */
    async stopEvacuation(input: { target: string; node: string }): Promise<{ wasEvacuating: boolean }> {
      const client = api(input.target);
      const r = await client.call('POST', `/load_rebalance/${encodeURIComponent(input.node)}/evacuation/stop`);
      if (r.status === 200) return { wasEvacuating: true };
      if (isPathNotFound(r) || isNodeNotRunning(r) || rpcError(r) === 'not_started') return { wasEvacuating: false };
      throw client.unexpected(`stopping evacuation of ${input.node}`, r);
    },

    /** Every running evacuation in the operator's `nodeEvacuationsStatus` shape; empty without the API. */
    async evacuationStatus(input: { target: string }): Promise<NodeEvacuationStatus[]> {
      return (await api(input.target).evacuations()) ?? [];
    },

    /**
     * Removes a stopped node from the cluster's membership, so retired nodes
     * are not listed forever (emqx-operator #1021). Membership is the node
     * list: GET /nodes/{node} answers 404 for any node not running, member or
     * not. A running node is waited for (retryable): force_leave would make
     * it leave while it runs (mria:force_leave calls leave on it), and
     * scaled-down pods take a moment to stop. A node not listed is no member
     * (a stopped replicant never is: mria forgets it by itself).
     */
    async forgetNode(input: { target: string; node: string }): Promise<{ removed: boolean }> {
      const client = api(input.target);
      const listed = (await client.nodes()).find((n) => n.node === input.node);
      if (!listed) return { removed: false };
      if (running(listed)) {
        throw ApplicationFailure.retryable(`node ${input.node} of target '${input.target}' is still running; it is removed from the cluster once stopped`, 'NodeRunning');
      }
      const r = await client.call('DELETE', `/cluster/${encodeURIComponent(input.node)}/force_leave`);
      if (r.status === 204 || r.status === 200) return { removed: true };
      if (r.status === 400 && errorOf(r)?.message === 'node_not_in_cluster') return { removed: false };
      throw client.unexpected(`removing node ${input.node} from the cluster`, r);
    },

    /** Live connections and sessions, in total (over the nodes that answered) and per node. */
    async connectionCounts(input: { target: string }): Promise<ConnectionCounts> {
      const client = api(input.target);
      const [nodes, reply] = await Promise.all([client.nodes(), client.call('GET', '/stats?aggregate=true')]);
      if (reply.status !== 200) throw client.unexpected('reading stats', reply);
      const stats = await client.read(AggregateStats, 'GET /api/v5/stats?aggregate=true', reply);
      return {
        total: { connections: stats['live_connections.count'], sessions: stats['sessions.count'] },
        nodes: nodes.map((x) =>
          running(x) ? { node: x.node, status: x.node_status, connections: x.live_connections, sessions: x.connections } : { node: x.node, status: x.node_status, connections: 0, sessions: 0 },
        ),
      };
    },
  };
}

export type EmqxActivities = ReturnType<typeof createEmqxActivities>;
