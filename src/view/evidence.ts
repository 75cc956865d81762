/**
 * What every kind shows beside its own panel: analysis results (the evidence
 * a gate is decided on), the green release's ready report, a running undo,
 * the failure, and a stuck run.
 */
import type { AnalysisResult } from '../domain/analysis';
import type { Cell, Section, Tone } from './panel';
import type { UpgradeView } from './upgradeView';

const PHASE_TONE: Record<string, Tone> = { Successful: 'ok', Failed: 'bad', Error: 'bad', Inconclusive: 'warn' };

/** A measured value as people read it: rates below 1 as they are, with up to 4 significant digits. */
export const formatValue = (v: number | undefined): string => (v === undefined ? '—' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))));

function analysisRows(where: string, results: AnalysisResult[]): Cell[][] {
  return results.map((r) => {
    const last = [...r.measurements].reverse().find((m) => m.value !== undefined);
    return [
      { text: where },
      { text: r.check },
      { text: r.phase, tone: PHASE_TONE[r.phase] },
      { text: formatValue(last?.value) },
      { text: String(r.measurements.length) },
      { text: r.message },
    ];
  });
}

export function genericSections(u: UpgradeView): Section[] {
  const sections: Section[] = [];
  const rows = [
    ...analysisRows('verify', u.analysis ?? []),
    ...(u.trafficSteps ?? []).flatMap((s, i) => analysisRows(`traffic step ${i + 1} (${s.weight}%)`, s.analysis)),
  ];
  if (rows.length) sections.push({ title: 'Analysis', evidence: true, table: { columns: ['where', 'check', 'result', 'last value', 'measurements', 'message'], rows } });
  if (u.readyReport) {
    const r = u.readyReport;
    sections.push({
      title: 'Ready report of green',
      evidence: true,
      rows: [{ label: r.ready ? 'ready' : 'not ready', value: `${r.detail ?? ''} (by ${r.by} at ${r.at})`.trim(), tone: r.ready ? 'ok' : 'warn' }],
    });
  }
  if (u.undoing) {
    const d = u.undoing;
    sections.push({
      title: 'Undoing',
      rows: [
        { label: 'step', value: `${d.step} since ${d.since}` },
        ...(d.activity ? [{ label: 'activity', value: `${d.activity}, attempt ${d.attempt ?? 1}` }] : []),
        ...(d.lastError ? [{ label: 'last error', value: d.lastError, tone: 'bad' as const }] : []),
      ],
    });
  }
  if (u.failure) sections.push({ title: 'Failure', rows: [{ label: u.failure.step, value: u.failure.message, tone: 'bad' }] });
  if (u.stuck) {
    sections.push({
      title: 'Stuck',
      rows: [{ label: `since ${u.stuck.since}`, value: `${u.stuck.message} (${u.stuck.attempts} attempts${u.stuck.cause ? `, ${u.stuck.cause}` : ''})`, tone: 'bad' }],
    });
  }
  return sections;
}
