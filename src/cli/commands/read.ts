/** The reading commands: targets, status, list, history, whoami. */
import type { TargetView, UpgradeSummary } from '../../api/schemas';
import type { Cell } from '../../view/panel';
import type { ApiClient } from '../client';
import { getUpgrade } from '../follow';
import { frame } from '../frame';
import { print, type Io } from '../io';
import { listTargets, listUpgrades, upgradeIdOf } from '../resolve';
import { paint, section, table } from '../text';

/** Each target with its latest upgrade and what gets traffic as that upgrade says (never upgraded: cutover targets NAME asks the platform). */
export async function targets(api: ApiClient, io: Io): Promise<void> {
  const [configured, upgrades] = await Promise.all([listTargets(api), listUpgrades(api, {})]);
  const rows = await Promise.all(
    configured.map(async (t) => {
      const latest = upgrades.find((u) => u.target === t.name);
      const state = latest ? await getUpgrade(api, latest.id) : undefined;
      // what gets traffic: one release, or both during a weighted shift
      const serving = state
        ? (['blue', 'green'] as const).flatMap((role) => {
            const r = state.releases[role];
            return r && state.traffic[role] > 0 ? [{ release: r.name, version: r.version, weight: state.traffic[role] }] : [];
          })
        : undefined;
      return { ...t, serving, latest };
    }),
  );
  print(io, { targets: rows }, () =>
    table(
      io.style,
      ['target', 'kind', 'serving', 'latest upgrade', 'description'],
      rows.map((r) => [
        { text: r.name },
        { text: r.kind },
        { text: r.serving?.map((s) => `${s.release} (${s.version}) ${s.weight}%`).join(', ') || '— (see cutover targets NAME)' },
        { text: r.latest ? `${r.latest.status ?? r.latest.execution} ${r.latest.id}` : 'none' },
        { text: r.description ?? '' },
      ]),
    ),
  );
}

/** One target's releases as its platform runs them: owner, traffic, orphans, and the last clean-up. */
export async function target(api: ApiClient, io: Io, name: string): Promise<void> {
  const view = await api.request<TargetView>({ path: `/v1/targets/${encodeURIComponent(name)}`, role: 'viewer' });
  print(io, view, () => {
    const rows: Cell[][] = view.releases.map((r) => [
      { text: r.name },
      { text: r.version ?? '' },
      { text: `${r.weight}%`, tone: r.serving ? 'ok' : undefined },
      { text: r.orphan ? 'orphan' : r.serving ? 'serving' : '', tone: r.orphan ? 'warn' : undefined },
      { text: r.owner ? `${r.owner.upgrade ?? r.owner.adoptedBy ?? r.owner.target}${r.owner.execution ? ` (${r.owner.execution})` : ''}` : 'no owner mark' },
      { text: r.objects.join(', ') },
    ]);
    const lines = [`${paint(io.style, 'bold', view.name)} (${view.kind})${view.description ? `: ${view.description}` : ''}`, ...table(io.style, ['release', 'version', 'traffic', 'state', 'owner', 'objects'], rows)];
    if (view.upgrade) lines.push('', `upgrade running: ${view.upgrade.id} (${view.upgrade.status})`);
    if (view.cleanup) {
      const c = view.cleanup;
      lines.push('', ...section(io.style, { title: `Clean-up ${c.cleanupId}`, rows: [
        { label: 'status', value: c.status },
        { label: 'orphans', value: c.orphans.join(', ') || 'none' },
        ...c.removed.map((r) => ({ label: `removed ${r.release}`, value: [...r.removed, ...r.left.map((l) => `left ${l}`)].join(', ') })),
        ...c.failed.map((f) => ({ label: `failed ${f.release}`, value: f.message, tone: 'bad' as const })),
      ] }));
    }
    if (view.releases.some((r) => r.orphan)) lines.push('', `remove the orphans with: cutover cleanup ${view.name} --reason "…"`);
    return lines;
  });
}

function summaryRows(upgrades: UpgradeSummary[]): Cell[][] {
  return upgrades.map((u) => [
    { text: u.id },
    { text: u.target },
    { text: u.kind ?? '' },
    { text: u.status ?? '', tone: u.status === 'SUCCEEDED' ? 'ok' : u.status === 'FAILED' ? 'bad' : u.status === 'AWAITING_APPROVAL' || u.status === 'ROLLED_BACK' ? 'warn' : undefined },
    { text: u.execution === 'RUNNING' || u.execution === 'COMPLETED' ? '' : u.execution, tone: 'bad' },
    { text: u.startedAt },
    { text: u.closedAt ?? '' },
  ]);
}

export async function list(api: ApiClient, io: Io, filter: { status?: string; target?: string; kind?: string }): Promise<void> {
  const upgrades = await listUpgrades(api, filter);
  print(io, { upgrades }, () =>
    upgrades.length
      ? table(io.style, ['id', 'target', 'kind', 'status', 'execution', 'started', 'ended'], summaryRows(upgrades))
      : [`no upgrades${Object.values(filter).some(Boolean) ? ' match' : ' yet'}`],
  );
}

/** No argument: every target's latest upgrade. A target or an id: that upgrade, whole. */
export async function status(api: ApiClient, io: Io, idOrTarget?: string): Promise<void> {
  if (!idOrTarget) {
    // the list is newest first: each target's first is its latest
    const firsts = (await listUpgrades(api, {})).filter((u, i, all) => all.findIndex((o) => o.target === u.target) === i);
    print(io, { upgrades: firsts }, () => (firsts.length ? table(io.style, ['id', 'target', 'kind', 'status', 'execution', 'started', 'ended'], summaryRows(firsts)) : ['no upgrades yet']));
    return;
  }
  const u = await getUpgrade(api, await upgradeIdOf(api, idOrTarget));
  print(io, u, () => frame(io.style, u));
}

export async function history(api: ApiClient, io: Io, idOrTarget: string): Promise<void> {
  const u = await getUpgrade(api, await upgradeIdOf(api, idOrTarget));
  print(io, { upgradeId: u.upgradeId, transitions: u.transitions }, () => [
    `${paint(io.style, 'bold', u.upgradeId)}: ${u.transitions.length} transitions${u.execution === 'STUCK' ? ' (stuck: the transitions are in the run\'s history in the Temporal UI)' : ''}`,
    ...table(
      io.style,
      ['at', 'by', 'what', 'change', 'why'],
      u.transitions.map((t) => [
        { text: t.at },
        { text: t.by },
        { text: t.what },
        { text: `${t.release ? `${t.release} ` : ''}${t.from ?? ''}${t.from || t.to ? ' -> ' : ''}${t.to ?? ''}` },
        { text: t.why },
      ]),
    ),
  ]);
}

export async function whoami(api: ApiClient, io: Io): Promise<void> {
  const me = await api.request<{ principal: string; roles: string[]; target?: string }>({ path: '/v1/me' });
  print(io, me, () => [`${me.principal} (${me.roles.join(', ')}${me.target ? `, target ${me.target}` : ''}) at ${api.connection.url}`]);
}
