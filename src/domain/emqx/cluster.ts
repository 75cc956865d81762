/**
 * EMQX cluster facts as cutover reasons about them: cluster health from the
 * node list, the drain order, node names. No I/O, so workflows may import it.
 */
import type { EvacuationState, ListedNode } from './answers';

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

function health(node: string, info: ListedNode | undefined): NodeHealth {
  if (!info) return { node, member: false, status: 'absent', version: null, role: null, uptimeMs: null };
  if (info.node_status === 'stopped') return { node, member: true, status: 'stopped', version: null, role: info.role, uptimeMs: null };
  return { node, member: true, status: 'running', version: info.version, role: info.role, uptimeMs: info.uptime };
}

/** Health of the expected nodes against the cluster's node list. */
export function assessCluster(expectNodes: readonly string[], listed: readonly ListedNode[]): ClusterHealth {
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

/**
 * The EMQX node name of a pod, from the target's template, as the EMQX
 * Operator forms them: a core `emqx@{pod}.<headless service>.{namespace}.svc.cluster.local`
 * (EMQX_HOST=$(POD_NAME).$(EMQX_CLUSTER__DNS__NAME), add_emqx_core.go), a
 * replicant `emqx@{podIP}` (EMQX_HOST from status.podIP, add_emqx_repl.go).
 * null while a template needs the pod's IP and the pod has none yet.
 */
export function emqxNodeName(template: string, pod: { name: string; ip?: string }, namespace = ''): string | null {
  if (template.includes('{podIP}') && !pod.ip) return null;
  return template.replaceAll('{podIP}', pod.ip ?? '').replaceAll('{pod}', pod.name).replaceAll('{namespace}', namespace);
}
