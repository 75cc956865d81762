/**
 * EMQX: each release's nodes with their cluster status and, for blue's, the
 * evacuation (state, connections and sessions left of those it had), from
 * the strategy's details and the live heartbeat of the node being evacuated.
 */
import { emqxKind } from '../../domain/emqx';
import { num, record, records, str, type Cell, type KindPanel, type Section, type Tone } from '../panel';
import type { UpgradeView } from '../upgradeView';

/** The operator's nodeEvacuationsStatus entry, as much of it as a run reported. */
interface Evacuation {
  node: string;
  state: string;
  connections?: { now: number; initial: number };
  sessions?: { now: number; initial: number };
}

const STATE_TONE: Record<string, Tone> = { prohibiting: 'ok', removed: 'ok', evicting_conns: 'warn', evicting_sessions: 'warn', waiting_takeover: 'warn' };

function evacuation(entry: Record<string, unknown>): Evacuation | undefined {
  const node = str(entry.node);
  const state = str(entry.state);
  if (!node || !state) return undefined;
  const stats = record(entry.stats) ?? {};
  const pair = (now: unknown, initial: unknown) => (num(now) !== undefined && num(initial) !== undefined ? { now: num(now)!, initial: num(initial)! } : undefined);
  return { node, state, connections: pair(stats.current_connected, stats.initial_connected), sessions: pair(stats.current_sessions, stats.initial_sessions) };
}

/** Finished evacuations from the details, the running one from the live heartbeat. */
function evacuations(u: UpgradeView): Map<string, Evacuation> {
  const all = [...records(u.details.nodeEvacuationsStatus), ...records([u.details[LIVE_KEY]])];
  return new Map(all.flatMap((e) => [evacuation(e)].filter((x): x is Evacuation => !!x)).map((e) => [e.node, e]));
}

/** Where the API puts the heartbeat of the node being evacuated. */
const LIVE_KEY = emqxKind.liveDetails.key;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const ratio = (p?: { now: number; initial: number }) => (p ? `${p.now} / ${p.initial}` : '—');

function nodeTable(u: UpgradeView): Section | undefined {
  const health = new Map(records(record(u.details.clusterHealth)?.nodes).map((n) => [str(n.node), n]));
  const evac = evacuations(u);
  const rows: Cell[][] = [];
  for (const role of ['blue', 'green'] as const) {
    for (const node of strings(u.details[`${role}Nodes`])) {
      const h = health.get(node);
      const e = evac.get(node);
      rows.push([
        { text: `${role} ${u.releases[role]?.version ?? ''}`.trim() },
        { text: node },
        { text: str(h?.role) ?? '—' },
        { text: str(h?.status) ?? '—', tone: h && h.status !== 'running' ? 'bad' : undefined },
        { text: e?.state ?? (role === 'blue' ? 'not started' : '—'), tone: e ? STATE_TONE[e.state] : 'muted' },
        { text: ratio(e?.connections) },
        { text: ratio(e?.sessions) },
      ]);
    }
  }
  if (!rows.length) return undefined;
  return { title: 'EMQX nodes', evidence: true, table: { columns: ['release', 'node', 'role', 'status', 'evacuation', 'connections left', 'sessions left'], rows } };
}

/** The node evacuating now (its state is neither done nor unknown). */
const current = (u: UpgradeView): Evacuation | undefined =>
  [...evacuations(u).values()].find((e) => !['prohibiting', 'removed'].includes(e.state) && !e.state.startsWith('not running'));

export const emqxPanel: KindPanel = {
  title: 'EMQX',
  sections(u) {
    const notes = [
      ['cluster', u.details.emqx],
      ['drain', u.details.drainMode],
      ['left in the cluster', strings(u.details.nodesLeftInCluster).join(', ') || undefined],
      ['rollback', u.details.rollbackNote],
    ].flatMap(([label, value]) => (typeof value === 'string' ? [{ label: label as string, value }] : []));
    const table = nodeTable(u);
    return [...(table ? [table] : []), ...(notes.length ? [{ title: 'EMQX cluster', rows: notes }] : [])];
  },
  line(u) {
    const e = current(u);
    if (!e) {
      const done = [...evacuations(u).values()].filter((x) => x.state === 'prohibiting').length;
      return done ? `${done} blue node(s) evacuated` : undefined;
    }
    return `evacuating ${e.node}: ${e.state}, connections ${ratio(e.connections)}, sessions ${ratio(e.sessions)}`;
  },
  progress(u) {
    if (u.step !== 'drainBlue') return undefined;
    const blue = strings(u.details.blueNodes);
    if (!blue.length) return undefined;
    const evac = evacuations(u);
    const done = blue.filter((n) => ['prohibiting', 'removed'].includes(evac.get(n)?.state ?? '')).length;
    const e = current(u);
    const partial = e?.connections?.initial ? 1 - e.connections.now / e.connections.initial : 0;
    return { fraction: Math.min(1, (done + partial) / blue.length), label: `${done} of ${blue.length} blue nodes evacuated${e ? `, ${e.node} ${e.state}` : ''}` };
  },
};
