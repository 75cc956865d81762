/**
 * The EMQX versions cutover supports and what differs between them, as read
 * in emqx/emqx at the tags named (v5.x open source, e5.x Enterprise). Pure:
 * the API, the plan, the client and the stand-ins all decide from here.
 */

export type EmqxEdition = 'Opensource' | 'Enterprise';

/** What `GET /api/v5/nodes` says of a running node: `version` and `edition` (emqx_mgmt.erl, node_info/0). */
export interface EmqxRelease {
  version: string;
  edition: EmqxEdition;
}

export interface EmqxVersion {
  major: number;
  minor: number;
  patch: number;
}

/** The oldest and newest minor cutover drives; the README's support matrix says why. */
export const EMQX_SUPPORTED = { from: { major: 5, minor: 1, patch: 0 }, throughMinor: 10, checkedUpTo: 'e5.10.4' } as const;

/** "5.8.0", "5.8.0-rc.1", "v5.8.0" or "e5.8.0" (the tags' prefixes); null when it is none of these. */
export function parseEmqxVersion(text: string): EmqxVersion | null {
  const m = /^[ve]?(\d+)\.(\d+)\.(\d+)(?:[-+][\w.-]*)?$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : null;
}

const order = (v: EmqxVersion): number => v.major * 1_000_000 + v.minor * 1000 + v.patch;
const atLeast = (v: EmqxVersion, major: number, minor: number, patch = 0): boolean => order(v) >= order({ major, minor, patch });

/**
 * Why cutover cannot drive EMQX `version` at all, or undefined. Before 5.1.0
 * the REST API lists no live connections per node (`live_connections`,
 * emqx_mgmt.erl at v5.1.0) and Enterprise 5.0.4's evacuation takes no
 * health-check wait and an integer `wait_takeover` only; above the newest
 * minor checked, the API is unread.
 */
export function versionProblem(version: string): string | undefined {
  const v = parseEmqxVersion(version);
  if (!v) return `'${version}' is not an EMQX version such as 5.8.0`;
  const { from, throughMinor, checkedUpTo } = EMQX_SUPPORTED;
  if (v.major !== 5 || !atLeast(v, from.major, from.minor, from.patch)) {
    return (
      `EMQX ${version} is outside cutover's support matrix (5.1.0 to 5.${throughMinor}.x): before 5.1.0 the REST API lists no live ` +
      `connections per node and Enterprise 5.0's evacuation takes no health-check wait; upgrade to 5.1 or later with a rolling update first`
    );
  }
  if (v.minor > throughMinor) {
    return `EMQX ${version} is newer than cutover's support matrix (5.1.0 to 5.${throughMinor}.x, its REST API checked up to ${checkedUpTo}); use a 5.${throughMinor} release or a cutover that supports ${v.major}.${v.minor}`;
  }
  return undefined;
}

/**
 * Node evacuation (`/api/v5/load_rebalance/...`, app emqx_node_rebalance):
 * Enterprise only up to 5.8 (rebar.config.erl at v5.8.9:
 * is_community_umbrella_app("apps/emqx_node_rebalance") -> false), every
 * build from 5.9, where the editions merged (emqx_release.erl at e5.9.0:
 * edition() -> ee).
 */
export function hasEvacuation(r: EmqxRelease): boolean {
  const v = parseEmqxVersion(r.version);
  return v !== null && (r.edition === 'Enterprise' || atLeast(v, 5, 9));
}

/** The edition green will run: Enterprise from 5.9 (the only one), else blue's. */
export function greenEdition(blue: EmqxEdition, greenVersion: string): EmqxEdition {
  const v = parseEmqxVersion(greenVersion);
  return v && atLeast(v, 5, 9) ? 'Enterprise' : blue;
}

/** How blue is drained: `auto` evacuates where both releases can, else removes pods; the others insist. */
export type DrainRequest = 'auto' | 'evacuation' | 'pod-removal';
export type DrainMode = 'evacuation' | 'pod-removal';

export const describeRelease = (r: EmqxRelease): string => `EMQX ${r.version} (${r.edition})`;

/**
 * The drain an upgrade of `blue` to `greenVersion` gets, or why it cannot run.
 * An evacuation needs emqx_node_rebalance on both sides: the evacuated node
 * runs it, and the recipients answer its availability RPC
 * (emqx_node_rebalance_evacuation_proto_v1:available_nodes) and take the
 * sessions (emqx_eviction_agent).
 */
export function planDrain(blue: readonly EmqxRelease[], greenVersion: string, requested: DrainRequest): { mode: DrainMode } | { problem: string } {
  const unsupported = blue.map((r) => versionProblem(r.version)).find((p) => p !== undefined);
  if (unsupported) return { problem: `blue: ${unsupported}` };
  if (requested === 'pod-removal') return { mode: 'pod-removal' };
  const lacking = blue.find((r) => !hasEvacuation(r));
  const green = blue[0] && { version: greenVersion, edition: greenEdition(blue[0].edition, greenVersion) };
  const greenLacks = green && !hasEvacuation(green) ? green : undefined;
  const without = lacking ?? greenLacks;
  if (!without) return { mode: 'evacuation' };
  if (requested === 'auto') return { mode: 'pod-removal' };
  const side = without === greenLacks ? 'green would run' : 'blue runs';
  return {
    problem:
      `options.emqx.drain is 'evacuation', but ${side} ${describeRelease(without)}, which has no node evacuation: it is Enterprise-only before 5.9 ` +
      `(emqx_node_rebalance is not a community app there). Leave options.emqx.drain out (or set it to 'pod-removal') to drain by removing blue's pods ` +
      `one every drainInterval, as the EMQX Operator does without evacuation, or run EMQX Enterprise, or upgrade to 5.9 or later first`,
  };
}

/**
 * Where the REST API's answers and requests differ between supported
 * versions (one contract fixture directory per distinct set, named after its
 * first version).
 */
export interface EmqxApiShape {
  /** The first version of this shape: test/fixtures/contracts/emqx/<contract>/. */
  contract: '5.1.0' | '5.1.1' | '5.2.0' | '5.4.0' | '5.6.0' | '5.9.0';
  /** `wait_takeover` of evacuation/start: pos_integer at 5.1.0, timeout_duration_s (integer or "10s") from 5.1.1. */
  waitTakeover: 'pos_integer' | 'duration';
  /** global_status has `purges` from 5.2.0 (the purge process). */
  purges: boolean;
  /** Before 5.4.0 a busy eviction agent does not refuse the start: the evacuation ends by itself after the health-check wait. */
  busyRefusedAtStart: boolean;
  /** `cluster_sessions` in a running node's info from 5.6.0 (emqx_mgmt.erl, node_info/0). */
  clusterSessions: boolean;
}

export function apiShape(version: string): EmqxApiShape {
  const v = parseEmqxVersion(version) ?? { major: 5, minor: 1, patch: 0 };
  const contract: EmqxApiShape['contract'] = atLeast(v, 5, 9)
    ? '5.9.0'
    : atLeast(v, 5, 6)
      ? '5.6.0'
      : atLeast(v, 5, 4)
        ? '5.4.0'
        : atLeast(v, 5, 2)
          ? '5.2.0'
          : atLeast(v, 5, 1, 1)
            ? '5.1.1'
            : '5.1.0';
  return {
    contract,
    waitTakeover: atLeast(v, 5, 1, 1) ? 'duration' : 'pos_integer',
    purges: atLeast(v, 5, 2),
    busyRefusedAtStart: atLeast(v, 5, 4),
    clusterSessions: atLeast(v, 5, 6),
  };
}
