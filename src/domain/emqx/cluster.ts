/**
 * EMQX cluster facts as cutover reasons about them: pure shaping of REST API v5
 * answers and the drain order. No I/O, so workflows may import it.
 */

export const EVACUATION_STATES = [
  'disabled',
  'waiting_health_check',
  'evicting_conns',
  'waiting_takeover',
  'evicting_sessions',
  'prohibiting',
] as const;
export type EvacuationState = (typeof EVACUATION_STATES)[number];

/** One entry of the EMQX Operator's `status.nodeEvacuationsStatus`, so operator users recognise it. */
export interface NodeEvacuationStatus {
  node: string;
  state: EvacuationState | string;
  connection_goal: number;
  session_goal: number;
  connection_eviction_rate: number;
  session_eviction_rate: number;
  session_recipients: string[];
  stats: {
    initial_connected: number;
    current_connected: number;
    initial_sessions: number;
    current_sessions: number;
  };
}

export type EmqxRole = 'core' | 'replicant';

/** An item of `GET /api/v5/nodes`; a stopped node carries little more than its name and status. */
export interface EmqxNodeInfo {
  node: string;
  node_status: 'running' | 'stopped' | string;
  version?: string;
  role?: EmqxRole | string;
  edition?: string;
  /** Sessions, including those of disconnected persistent clients. */
  connections?: number;
  live_connections?: number;
  /** Milliseconds since the node started. */
  uptime?: number;
}

export interface NodeHealth {
  node: string;
  /** Listed in the cluster's membership (running or not). */
  member: boolean;
  status: 'running' | 'stopped' | 'absent';
  version: string | null;
  role: EmqxRole | null;
  uptimeMs: number | null;
}

export interface ClusterHealth {
  /** Every expected node is a running member. */
  healthy: boolean;
  nodes: NodeHealth[];
  /** Every node the cluster lists, expected or not (blue nodes, stale stopped nodes). */
  members: string[];
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const role = (v: unknown): EmqxRole | null => (v === 'core' || v === 'replicant' ? v : null);

function health(node: string, info: EmqxNodeInfo | undefined): NodeHealth {
  if (!info) return { node, member: false, status: 'absent', version: null, role: null, uptimeMs: null };
  return {
    node,
    member: true,
    status: info.node_status === 'running' ? 'running' : 'stopped',
    version: str(info.version),
    role: role(info.role),
    uptimeMs: typeof info.uptime === 'number' ? info.uptime : null,
  };
}

/** Health of the expected nodes against the cluster's node list. */
export function assessCluster(expectNodes: readonly string[], listed: readonly EmqxNodeInfo[]): ClusterHealth {
  const byName = new Map(listed.map((n) => [n.node, n]));
  const nodes = expectNodes.map((n) => health(n, byName.get(n)));
  return {
    healthy: nodes.every((n) => n.status === 'running'),
    nodes,
    members: listed.map((n) => n.node),
  };
}

/** One line for heartbeats and errors: which expected nodes are not yet running members. */
export function describeHealth(h: ClusterHealth): string {
  const notReady = h.nodes.filter((n) => n.status !== 'running');
  if (notReady.length === 0) return `all ${h.nodes.length} nodes running members of the cluster`;
  return `${h.nodes.length - notReady.length}/${h.nodes.length} nodes running members; waiting for ${notReady
    .map((n) => `${n.node} (${n.status})`)
    .join(', ')}`;
}

/** Shapes `GET /api/v5/load_rebalance/global_status` into the operator's per-node evacuation status. */
export function nodeEvacuationsStatus(globalStatus: unknown): NodeEvacuationStatus[] {
  const evacuations = (globalStatus as { evacuations?: unknown } | null)?.evacuations;
  if (!Array.isArray(evacuations)) return [];
  return evacuations
    .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof e.node === 'string')
    .map((e) => {
      const stats = (typeof e.stats === 'object' && e.stats !== null ? e.stats : {}) as Record<string, unknown>;
      return {
        node: e.node as string,
        state: str(e.state) ?? 'disabled',
        connection_goal: num(e.connection_goal),
        session_goal: num(e.session_goal),
        connection_eviction_rate: num(e.connection_eviction_rate),
        session_eviction_rate: num(e.session_eviction_rate),
        session_recipients: Array.isArray(e.session_recipients) ? e.session_recipients.filter((r): r is string => typeof r === 'string') : [],
        stats: {
          initial_connected: num(stats.initial_connected),
          current_connected: num(stats.current_connected),
          initial_sessions: num(stats.initial_sessions),
          current_sessions: num(stats.current_sessions),
        },
      };
    });
}

export interface DrainCandidate {
  node: string;
  role: EmqxRole | null;
  uptimeMs: number | null;
}

/** Pod ordinal of a node named `name@<pod>-<n>.<domain>`; -1 when the host has no ordinal. */
export function nodeOrdinal(node: string): number {
  const host = node.slice(node.indexOf('@') + 1).split('.')[0] ?? '';
  const m = /-(\d+)$/.exec(host);
  return m ? Number(m[1]) : -1;
}

/**
 * The order in which to evacuate blue nodes, as the EMQX Operator does:
 * replicants first (they hold no shared state), oldest first; then cores,
 * highest ordinal first, so a StatefulSet scaled down by one loses exactly
 * the node that was drained.
 */
export function drainOrder(nodes: readonly DrainCandidate[]): string[] {
  const replicants = nodes
    .filter((n) => n.role === 'replicant')
    .sort((a, b) => (b.uptimeMs ?? 0) - (a.uptimeMs ?? 0) || nodeOrdinal(b.node) - nodeOrdinal(a.node) || a.node.localeCompare(b.node));
  const cores = nodes
    .filter((n) => n.role !== 'replicant')
    .sort((a, b) => nodeOrdinal(b.node) - nodeOrdinal(a.node) || b.node.localeCompare(a.node));
  return [...replicants, ...cores].map((n) => n.node);
}

/** The EMQX node name of a pod, from the target's template (e.g. emqx@{pod}.emqx-headless.{namespace}.svc.cluster.local). */
export function emqxNodeName(template: string, pod: string, namespace = ''): string {
  return template.replaceAll('{pod}', pod).replaceAll('{namespace}', namespace);
}
