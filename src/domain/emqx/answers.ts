/**
 * What EMQX's REST API v5 prints, as TypeBox schemas of the parts cutover
 * reads, checked against emqx/emqx from v5.1.0 to e5.10.4 (each schema names
 * its source). Fields cutover does not read are let through; a field it reads
 * that is missing or of another type fails with a message naming EMQX, its
 * version, the field and what was found, never a TypeError later on.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const Count = Type.Integer({ minimum: 0 });

/** emqx_mgmt.erl node_info/0 (a running node; every supported version prints all of these). */
export const RunningNode = Type.Object({
  node: Type.String(),
  node_status: Type.Literal('running'),
  version: Type.String(),
  edition: Type.Union([Type.Literal('Opensource'), Type.Literal('Enterprise')]),
  role: Type.Union([Type.Literal('core'), Type.Literal('replicant')]),
  /** Sessions on the node, disconnected persistent ones included (ets emqx_channel). */
  connections: Count,
  live_connections: Count,
  uptime: Count,
});

/**
 * emqx_mgmt.erl stopped_node_info/1: `{node, node_status: stopped, role: core}`
 * and nothing else. Only cores are listed stopped: mria's cluster_nodes(all)
 * knows no stopped replicant ("stopped replicant nodes won't appear in the list").
 */
export const StoppedNode = Type.Object({
  node: Type.String(),
  node_status: Type.Literal('stopped'),
  role: Type.Literal('core'),
});

export const ListedNode = Type.Union([RunningNode, StoppedNode]);
export type RunningNode = Static<typeof RunningNode>;
export type StoppedNode = Static<typeof StoppedNode>;
export type ListedNode = Static<typeof ListedNode>;

/** GET /api/v5/nodes: running nodes whose info RPC answered, then stopped cores (emqx_mgmt.erl list_nodes/0). */
export const NodeList = Type.Array(ListedNode);

/** An evacuation's states, as its state machine names them (emqx_node_rebalance_evacuation.erl, v5.8.0; 'disabled': none runs). */
export const EVACUATION_STATES = [
  'disabled',
  'waiting_health_check',
  'evicting_conns',
  'waiting_takeover',
  'evicting_sessions',
  'prohibiting',
] as const;
export type EvacuationState = (typeof EVACUATION_STATES)[number];

/** emqx_node_rebalance_status.erl evacuation/1, with `node` added by the API (format_as_map_list). */
export const EvacuationEntry = Type.Object({
  node: Type.String(),
  state: Type.Union(EVACUATION_STATES.filter((s) => s !== 'disabled').map((s) => Type.Literal(s))),
  connection_eviction_rate: Type.Integer({ minimum: 1 }),
  session_eviction_rate: Type.Integer({ minimum: 1 }),
  connection_goal: Count,
  session_goal: Count,
  session_recipients: Type.Array(Type.String()),
  stats: Type.Object({ initial_connected: Count, current_connected: Count, initial_sessions: Count, current_sessions: Count }),
});
export type EvacuationEntry = Static<typeof EvacuationEntry>;

/**
 * GET /api/v5/load_rebalance/global_status (emqx_node_rebalance_api.erl):
 * `purges` only from 5.2.0. A running node whose status RPC failed is left out
 * (the multicall's bad nodes are dropped).
 */
export const GlobalStatus = Type.Object({
  evacuations: Type.Array(EvacuationEntry),
  rebalances: Type.Array(Type.Unknown()),
  purges: Type.Optional(Type.Array(Type.Unknown())),
});

/** GET /api/v5/stats?aggregate=true (emqx_mgmt_api_stats.erl list/2): the sums over nodes that answered. */
export const AggregateStats = Type.Object({
  'live_connections.count': Count,
  'sessions.count': Count,
});

/** Every error body: `?ERROR_MSG(Code, Message)` (emqx_utils_api.hrl), and the not-found page as JSON (emqx_dashboard_not_found.erl). */
export const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });
export type ErrorBody = Static<typeof ErrorBody>;

const shown = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** `a/0/b` as a[0].b. */
const readablePath = (pointer: string): string =>
  pointer
    .split('/')
    .slice(1)
    .reduce((path, p) => (/^\d+$/.test(p) ? `${path}[${p}]` : path ? `${path}.${p}` : p), '');

/** A union's branches pass or fail whole: point into the one branch whose literals the value does not contradict. */
function deepestError(schema: TSchema, value: unknown): { path: string; message: string; found: unknown } | undefined {
  const first = Value.Errors(schema, value).First();
  if (!first) return undefined;
  const branches = (first.schema as { anyOf?: TSchema[] }).anyOf;
  if (branches && typeof first.value === 'object' && first.value !== null) {
    const given = first.value as Record<string, unknown>;
    const fits = branches.filter((b) =>
      Object.entries((b as { properties?: Record<string, { const?: unknown }> }).properties ?? {}).every(
        ([k, p]) => p.const === undefined || given[k] === undefined || given[k] === p.const,
      ),
    );
    if (fits.length === 1) {
      const inner = deepestError(fits[0]!, first.value);
      if (inner) return { ...inner, path: `${first.path}${inner.path}` };
    }
    if (fits.length === 0) {
      const literals = branches.map((b) => (b as { properties?: Record<string, { const?: unknown }> }).properties ?? {});
      const key = Object.keys(literals[0]!).find((k) => literals.every((l) => l[k]?.const !== undefined));
      if (key) return { path: `${first.path}/${key}`, message: `Expected one of ${literals.map((l) => JSON.stringify(l[key]!.const)).join(', ')}`, found: given[key] };
    }
  }
  return { path: first.path, message: first.message, found: first.value };
}

/** The first way `value` is not what `schema` says, in words, or undefined when it fits. */
export function mismatch(schema: TSchema, value: unknown): string | undefined {
  const e = deepestError(schema, value);
  if (!e) return undefined;
  const field = readablePath(e.path) || '(the body)';
  if (/^Expected required property/.test(e.message)) return `${field} is missing`;
  return `${field}: ${e.message.replace(/^Expected/, 'expected')}, found ${shown(e.found)}`;
}

/** Checks an answer: the value typed, or the mismatch in words. */
export function readAnswer<S extends TSchema>(schema: S, value: unknown): { ok: Static<S> } | { mismatch: string } {
  const m = mismatch(schema, value);
  return m === undefined ? { ok: value as Static<S> } : { mismatch: m };
}
