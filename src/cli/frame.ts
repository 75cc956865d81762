/**
 * An upgrade drawn as text: what `cutover status` prints and `cutover watch`
 * redraws; and the one line per change `watch` prints when its output is no
 * terminal.
 */
import { genericSections } from '../view/evidence';
import { panelOf } from '../view/panels';
import { stepMarks, stepNumber, stepProgress, type StepMark } from '../view/steps';
import { hasEnded, type UpgradeView } from '../view/upgradeView';
import type { ReleaseState } from '../domain/upgrade';
import { bar, paint, section, table, type Style } from './text';

const STATUS_TONE = { SUCCEEDED: 'ok', ROLLED_BACK: 'warn', FAILED: 'bad', ROLLING_BACK: 'warn', AWAITING_APPROVAL: 'warn', RUNNING: undefined } as const;

/** ✓ done, ▶ running, ✗ where it stopped, · to come; ⏸ a gate, ⛔ the point of no return. */
function stepText(style: Style, m: StepMark): string {
  const mark = { done: '✓', current: '▶', stopped: '✗', pending: '·' }[m.state];
  const gate = m.gates.length ? '⏸' : '';
  const tone = m.state === 'current' ? 'bold' : m.state === 'stopped' ? 'bad' : m.state === 'pending' ? 'muted' : undefined;
  return `${m.pointOfNoReturn ? '⛔' : ''}${gate}${paint(style, tone, `${mark}${m.step}`)}`;
}

function releaseRows(style: Style, u: UpgradeView): string[] {
  const rows = (['blue', 'green'] as const).flatMap((role) => {
    const r: ReleaseState | null = u.releases[role];
    if (!r) return [];
    return [[{ text: role }, { text: r.name }, { text: r.version }, { text: r.phase, tone: r.phase === 'SERVING' ? ('ok' as const) : undefined }, { text: `${u.traffic[role]}%` }, { text: r.since }]];
  });
  return rows.length ? table(style, ['release', 'name', 'version', 'phase', 'traffic', 'since'], rows) : ['releases: not planned yet'];
}

function gateLines(style: Style, u: UpgradeView): string[] {
  const lines: string[] = [];
  for (const m of stepMarks(u)) {
    for (const g of m.gates) {
      const what = g.waiting ? paint(style, 'warn', `waiting: ${g.why}`) : g.approvedBy ? `approved by ${g.approvedBy}: ${g.why}` : g.why;
      lines.push(`  ⏸ ${m.step}: ${what}`);
    }
  }
  const ponr = u.pointOfNoReturnPassed ? paint(style, 'warn', 'passed: rollback is refused') : 'not passed: rollback possible';
  lines.push(`  ⛔ finalize is the point of no return: ${ponr}`);
  return [paint(style, 'bold', 'Gates'), ...lines];
}

export function frame(style: Style, u: UpgradeView): string[] {
  const status = paint(style, STATUS_TONE[u.status], u.status);
  const execution = u.execution !== 'RUNNING' && u.execution !== 'COMPLETED' ? ` (${paint(style, 'bad', u.execution)})` : '';
  const from = u.releases.blue?.version;
  const lines = [
    `${paint(style, 'bold', u.upgradeId)}  ${u.kind} ${from ? `${from} -> ` : ''}${u.version}  ${status}${execution}`,
    `requested by ${u.requestedBy} at ${u.startedAt}${u.endedAt ? `, ended ${u.endedAt}` : ''}`,
    stepMarks(u).map((m) => stepText(style, m)).join(' '),
  ];
  const progress = stepProgress(u);
  const name = u.step ?? 'not started';
  lines.push(`${stepNumber(u)} ${name} ${progress ? `${bar(progress.fraction)} ${progress.label}` : ''}`.trimEnd());
  lines.push(`${hasEnded(u) ? 'outcome' : 'waiting for'}: ${u.waitingFor}`);
  lines.push('', ...releaseRows(style, u), '', ...gateLines(style, u));
  const panel = panelOf(u.kind);
  for (const s of [...panel.sections(u), ...genericSections(u)]) lines.push('', ...section(style, s));
  if (u.links.temporalUi) lines.push('', `Temporal UI: ${u.links.temporalUi}`);
  return lines;
}

/** One line of what changes: time, status, step, both releases, what it waits for, the kind's progress. */
export function changeLine(u: UpgradeView): string {
  const release = (role: 'blue' | 'green') => {
    const r = u.releases[role];
    return r ? `${role} ${r.version} ${r.phase} ${u.traffic[role]}%` : undefined;
  };
  const progress = stepProgress(u);
  const parts = [
    `${u.status}${u.execution === 'RUNNING' || u.execution === 'COMPLETED' ? '' : `/${u.execution}`}`,
    `${u.step ?? '-'}${progress ? ` ${Math.round(progress.fraction * 100)}%` : ''}`,
    [release('blue'), release('green')].filter(Boolean).join(', '),
    u.waitingFor,
    panelOf(u.kind).line(u),
    u.pointOfNoReturnPassed ? 'point of no return passed' : undefined,
  ];
  return parts.filter((p) => p).join(' | ');
}
