/**
 * An event-sourced projection: green's catch-up with the event store (lag,
 * processing and append rates, ETA, a stall), live from the watch's heartbeat
 * while green replays, then as it ended.
 */
import { humanDuration } from '../../domain/duration';
import { projectionKind } from '../../domain/projection';
import { num, record, str, type KindPanel, type Row } from '../panel';
import type { UpgradeView } from '../upgradeView';

const KEY = projectionKind.liveDetails.key;

interface Progress {
  head: number;
  position: number;
  lag: number;
  rate: number;
  appendRate?: number;
  etaMs?: number;
  stalledSince?: number;
  caughtUpSince?: number;
  start?: number;
}

/** The heartbeat carries { progress, summary, error }; the finished watch its progress itself. */
function catchUp(u: UpgradeView): { progress?: Progress; summary?: string; error?: string } | undefined {
  const c = record(u.details[KEY]);
  if (!c) return undefined;
  const p = record(c.progress) ?? c;
  const [head, position, lag, rate] = [num(p.head), num(p.position), num(p.lag), num(p.rate)];
  const progress =
    head !== undefined && position !== undefined && lag !== undefined && rate !== undefined
      ? { head, position, lag, rate, appendRate: num(p.appendRate), etaMs: num(p.etaMs), stalledSince: num(p.stalledSince), caughtUpSince: num(p.caughtUpSince), start: num(record(p.firstSample)?.position) }
      : undefined;
  return { progress, summary: str(c.summary), error: str(c.error) };
}

const time = (ms: number) => new Date(ms).toISOString();

export const projectionPanel: KindPanel = {
  title: 'Projection',
  sections(u) {
    const c = catchUp(u);
    if (!c) return [];
    const p = c.progress;
    const rows: Row[] = p
      ? [
          { label: 'lag', value: `${p.lag} events (position ${p.position} of ${p.head})`, tone: p.caughtUpSince !== undefined ? 'ok' : undefined },
          { label: 'rate', value: `${p.rate.toFixed(0)} events/s processed, ${(p.appendRate ?? 0).toFixed(0)} events/s appended` },
          { label: 'ETA', value: p.etaMs === undefined ? 'unknown (the lag does not shrink)' : humanDuration(p.etaMs) },
          ...(p.stalledSince !== undefined ? [{ label: 'stalled', value: `no progress since ${time(p.stalledSince)}`, tone: 'bad' as const }] : []),
          ...(p.caughtUpSince !== undefined ? [{ label: 'caught up', value: `since ${time(p.caughtUpSince)}`, tone: 'ok' as const }] : []),
        ]
      : [{ label: 'catch-up', value: c.summary ?? 'waiting for the first reading' }];
    if (c.error) rows.push({ label: 'read error', value: c.error, tone: 'bad' });
    return [{ title: 'Projection catch-up', evidence: true, rows }];
  },
  line: (u) => catchUp(u)?.summary,
  progress(u) {
    const p = u.step === 'waitReady' ? catchUp(u)?.progress : undefined;
    if (!p) return undefined;
    const from = p.start ?? 0;
    const fraction = p.head > from ? (p.position - from) / (p.head - from) : 1;
    return { fraction: Math.max(0, Math.min(1, fraction)), label: `replayed ${p.position} of ${p.head} events${p.etaMs !== undefined ? `, ETA ${humanDuration(p.etaMs)}` : ''}` };
  },
};
