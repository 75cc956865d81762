/**
 * Catch-up arithmetic, pure: from successive (head, position) samples, the
 * lag, a smoothed processing rate, an ETA and a stall. The producer keeps
 * appending while green replays, so the ETA divides the lag by the rate at
 * which it shrinks (processing minus appending), not by the processing rate.
 */
import { humanDuration } from '../duration';

/** One reading of the event store's head and the slowest segment's position. */
export interface CatchUpSample {
  at: number; // epoch ms
  head: number;
  position: number;
}

export interface CatchUpProgress {
  head: number;
  position: number;
  lag: number;
  /** Events processed per second, smoothed. */
  rate: number;
  /** Events appended per second, smoothed. */
  appendRate: number;
  /** Milliseconds until the lag reaches the threshold at the current rates; absent while it does not shrink. */
  etaMs?: number;
  /** When the position last moved (epoch ms). */
  lastProgressAt: number;
  /** Set once the position has not moved for stallAfterMs while there is lag. */
  stalledSince?: number;
  /** Since when the lag has been at or below the threshold without a break. */
  caughtUpSince?: number;
  firstSample: CatchUpSample;
  lastSample: CatchUpSample;
}

/** What the watch heartbeats (and what the API shows while green builds). */
export interface CatchUpHeartbeat {
  /** Absent until the first reading succeeds. */
  progress?: CatchUpProgress;
  /** When the watch began (epoch ms). */
  since: number;
  summary: string;
  /** The last read error, while reads fail. */
  error?: string;
}

export const PROJECTION_STALLED = 'ProjectionStalled';
export const WATCH_CATCH_UP = 'watchCatchUp';

export interface CatchUpPolicy {
  /** Lag (events) at or below which green counts as caught up. */
  maxLag: number;
  /** How long the lag must stay at or below maxLag. */
  holdMs: number;
  /** No progress for this long with lag above maxLag is a stall (reported, not yet a failure). */
  stallAfterMs: number;
  /** Smoothing time constant of the rates. */
  smoothingMs: number;
}

export const DEFAULT_CATCH_UP_POLICY: CatchUpPolicy = { maxLag: 100, holdMs: 10_000, stallAfterMs: 30_000, smoothingMs: 30_000 };

export function nextProgress(prev: CatchUpProgress | undefined, s: CatchUpSample, p: CatchUpPolicy): CatchUpProgress {
  const lag = Math.max(0, s.head - s.position);
  const within = lag <= p.maxLag;
  if (!prev) {
    return { head: s.head, position: s.position, lag, rate: 0, appendRate: 0, lastProgressAt: s.at, caughtUpSince: within ? s.at : undefined, firstSample: s, lastSample: s };
  }
  const dt = s.at - prev.lastSample.at;
  if (dt <= 0) return prev;
  // Exponential smoothing with a time constant (uneven sampling intervals weigh right), corrected for
  // its start: it weighs only the time observed so far, so until about one time constant it is the
  // mean rate since the first reading, not the first interval's. A processor moves in batches: a
  // short first interval counts one batch more or less (±25% at 4 batches a poll), and that error
  // would stay in the ETA for a whole time constant, past the 10% of a fast catch-up.
  const alpha = 1 - Math.exp(-dt / p.smoothingMs);
  const seen = 1 - Math.exp(-(s.at - prev.firstSample.at) / p.smoothingMs);
  const smooth = (previous: number, instant: number): number => ((seen - alpha) * previous + alpha * instant) / seen;
  const instant = (Math.max(0, s.position - prev.lastSample.position) * 1000) / dt;
  const appending = (Math.max(0, s.head - prev.lastSample.head) * 1000) / dt;
  const smoothed = smooth(prev.rate, instant);
  const appendRate = smooth(prev.appendRate, appending);
  const moved = s.position > prev.lastSample.position;
  const lastProgressAt = moved ? s.at : prev.lastProgressAt;
  const stalled = !within && !moved && s.at - lastProgressAt >= p.stallAfterMs;
  // a stalled processor processes nothing: the smoothed rate would still show its last pace for a while
  const rate = stalled ? 0 : smoothed;
  const closing = rate - appendRate;
  const toGo = lag - p.maxLag;
  return {
    head: s.head,
    position: s.position,
    lag,
    rate,
    appendRate,
    etaMs: within ? 0 : closing > 0 && !stalled ? Math.round((toGo / closing) * 1000) : undefined,
    lastProgressAt,
    stalledSince: stalled ? lastProgressAt : undefined,
    caughtUpSince: within ? (prev.caughtUpSince ?? s.at) : undefined,
    firstSample: prev.firstSample,
    lastSample: s,
  };
}

/** Caught up: the lag has stayed at or below the threshold for the hold time. */
export function isCaughtUp(p: CatchUpProgress, policy: CatchUpPolicy): boolean {
  return p.caughtUpSince !== undefined && p.lastSample.at - p.caughtUpSince >= policy.holdMs;
}

/** One line for heartbeats, logs and the UI's current details. */
export function describeProgress(p: CatchUpProgress): string {
  if (p.stalledSince !== undefined) return `${describePosition(p)}, no progress since ${new Date(p.stalledSince).toISOString()}`;
  const eta = p.etaMs === undefined ? 'ETA unknown' : `ETA ${humanDuration(p.etaMs)}`;
  return `${describePosition(p)}, ${p.rate.toFixed(0)} events/s, ${eta}`;
}

export function describePosition(p: CatchUpProgress): string {
  return `position ${p.position} of ${p.head}, lag ${p.lag}`;
}
