/**
 * An upgrade's preview (POST /v1/upgrades?dryRun=true) as sections: the CLI
 * prints them (`cutover upgrade --plan`), the console shows them before its
 * start button. No Node API: it runs in the browser too.
 */
import { count } from '../domain/kindPreview';
import type { UpgradePreview } from '../domain/preview';
import { formatDuration, humanDuration } from '../domain/duration';
import type { Section } from './panel';

const kib = (bytes: number) => `${Math.ceil(bytes / 1024)} KiB`;
const ms = (value: number | undefined) => (value === undefined ? '' : formatDuration(value));

/** The headline: what would be upgraded to what; nothing started. */
export const previewTitle = (p: UpgradePreview): string =>
  `Preview: ${p.target} (${p.kind}) from ${p.blue.version} to ${p.version}, as ${p.requestedBy} would start it; nothing started`;

export function previewSections(p: UpgradePreview): Section[] {
  const c = p.capacity;
  const h = p.history;
  return [
    {
      title: 'Releases',
      rows: [
        { label: 'blue', value: `${p.blue.name}: ${p.blue.version}, ${count(p.blue.replicas, 'replica')} (serves now)` },
        { label: 'green', value: `${p.green.name}: ${p.green.version}, ${count(p.green.replicas, 'replica')}${p.image ? `, image ${p.image}` : ''}` },
        ...(p.found ? [{ label: 'found', value: p.found }] : []),
      ],
    },
    {
      title: 'Steps',
      rows: p.steps.map((s) => ({
        label: `${String(s.number).padStart(2)} ${s.pointOfNoReturn ? '⛔' : s.gate ? '⏸' : ' '} ${s.step}`,
        value: [s.does, s.atLeastMs ? `at least ${humanDuration(s.atLeastMs)}` : '', s.waitsFor ? `waits for ${s.waitsFor}` : '', s.undo ? `undo: ${s.undo}` : ''].filter(Boolean).join('. '),
        ...(s.pointOfNoReturn ? { tone: 'warn' as const } : {}),
      })),
    },
    {
      title: 'Traffic plan',
      ...(p.traffic.allAtOnce
        ? { rows: [{ label: 'all at once', value: `green gets 100% in one change` }] }
        : {
            table: {
              columns: ['step', 'green', 'pause', 'analysis', 'approval'],
              rows: p.traffic.steps.map((s, i) => [
                { text: String(i + 1) },
                { text: `${s.weight}%` },
                { text: ms(s.pauseMs) },
                { text: s.analysis.join(', ') },
                { text: s.approve ? 'yes' : '' },
              ]),
            },
          }),
    },
    ...(p.traffic.checks.length
      ? [
          {
            title: 'Analysis checks',
            table: {
              columns: ['check', 'provider', 'measures', 'passes if', 'inconclusive', 'where'],
              rows: p.traffic.checks.map((k) => [
                { text: k.name },
                { text: k.provider },
                { text: `${k.query ?? k.url ?? ''} for ${humanDuration(k.measuringMs)}` },
                { text: [k.successCondition, k.failureCondition && `fails if ${k.failureCondition}`].filter(Boolean).join('; ') },
                { text: k.onInconclusive },
                { text: k.where.join(', ') },
              ]),
            },
          },
        ]
      : []),
    {
      title: 'Gates',
      ...(p.gates.length
        ? {
            table: {
              columns: ['step', 'before', 'approvers', 'auto', 'time limit', 'when'],
              rows: p.gates.map((g) => [
                { text: g.step },
                { text: g.before },
                { text: `${g.roles.join(' or ') || 'any approver'}${g.requireDistinctApprover ? ', four-eyes' : ''}` },
                { text: ms(g.autoPromoteAfterMs) },
                { text: ms(g.timeoutMs) },
                { text: g.when ?? 'always' },
              ]),
            },
          }
        : { rows: [{ label: 'none', value: 'no person is asked to approve' }] }),
    },
    {
      title: 'Point of no return',
      rows: [
        { label: p.pointOfNoReturn.step, value: p.pointOfNoReturn.does, tone: 'warn' },
        { label: 'rollback', value: p.pointOfNoReturn.rollback },
      ],
    },
    {
      title: 'Rollback undoes, in this order',
      rows: p.compensations.map((u) => ({ label: u.step, value: u.undo })),
    },
    {
      title: 'Capacity',
      rows: [
        { label: 'replicas', value: `${c.replicasAtOnce} at once: blue's ${c.blueReplicas} and green's ${c.greenReplicas}, from ${c.from} until ${c.until} removes blue` },
        { label: 'for', value: `at least ${humanDuration(c.atLeastMs)}${c.plus.length ? ', plus the time of what follows' : ''}` },
        ...c.plus.map((w) => ({ label: '+', value: w })),
      ],
    },
    {
      title: 'History',
      rows: [
        {
          label: 'worst case',
          value: `${h.events} events, ${kib(h.bytes)}, largest payload ${kib(h.payloadBytes)} (budget ${h.budget.events} events, ${kib(h.budget.bytes)}, ${kib(h.budget.payloadBytes)})`,
        },
      ],
    },
  ];
}
