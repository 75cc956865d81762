/**
 * The pure half of an analysis run: what one measured value means, when the
 * next measurement is due, and when (and how) the run is over. The activity
 * only measures and waits; every decision is here, tested over a table.
 */
import { KEPT_MEASUREMENTS, type AnalysisCheck, type Measurement, type MeasurementPhase } from './analysis';
import { parseCondition } from './analysisCondition';

/** Argo's DefaultErrorRetryInterval: an errored measurement of a check without interval is retried after this. */
export const ERROR_RETRY_MS = 10_000;

/**
 * A measured value's phase with Argo's meanings; no value (undefined, or NaN
 * as 0/0 gives when there is no traffic) is Inconclusive, never a success.
 */
export function measurementPhase(check: AnalysisCheck, value: number | undefined): { phase: MeasurementPhase; message: string } {
  if (value === undefined || Number.isNaN(value)) return { phase: 'Inconclusive', message: 'no data' };
  const shown = Number(value.toPrecision(6));
  if (check.thresholdRange) {
    const { min = -Infinity, max = Infinity } = check.thresholdRange;
    const inside = value >= min && value <= max;
    return { phase: inside ? 'Successful' : 'Failed', message: `${shown} ${inside ? 'inside' : 'outside'} [${rangeText(check)}]` };
  }
  const success = check.successCondition === undefined ? undefined : parseCondition(check.successCondition)(value);
  const failure = check.failureCondition === undefined ? undefined : parseCondition(check.failureCondition)(value);
  // One condition alone decides both ways (Argo); with both, matching neither is Inconclusive.
  const failed = failure ?? (success === undefined ? false : !success);
  const succeeded = success ?? !failed;
  if (failed) return { phase: 'Failed', message: `${shown}: ${failure ? `failureCondition ${check.failureCondition}` : `not ${check.successCondition}`}` };
  if (!succeeded) return { phase: 'Inconclusive', message: `${shown} matches neither ${check.successCondition} nor ${check.failureCondition}` };
  return { phase: 'Successful', message: check.successCondition ? `${shown}: ${check.successCondition}` : `${shown}` };
}

function rangeText(check: AnalysisCheck): string {
  return `${check.thresholdRange?.min ?? '-inf'}, ${check.thresholdRange?.max ?? 'inf'}`;
}

/**
 * Where a run stands: the count of measurements by phase, the errors in a
 * row, and the latest few measurements. What a heartbeat carries and a
 * result keeps, so neither grows with the number of measurements.
 */
export interface AnalysisProgress {
  startedAt: string;
  taken: Record<MeasurementPhase, number>;
  consecutiveErrors: number;
  /** The latest KEPT_MEASUREMENTS, oldest first. */
  recent: Measurement[];
}

export function startProgress(startedAt: string): AnalysisProgress {
  return { startedAt, taken: { Successful: 0, Failed: 0, Inconclusive: 0, Error: 0 }, consecutiveErrors: 0, recent: [] };
}

export function addMeasurement(p: AnalysisProgress, m: Measurement): void {
  p.taken[m.phase]++;
  p.consecutiveErrors = m.phase === 'Error' ? p.consecutiveErrors + 1 : 0;
  p.recent.push(m);
  if (p.recent.length > KEPT_MEASUREMENTS) p.recent.splice(0, p.recent.length - KEPT_MEASUREMENTS);
}

/** The progress after these measurements (and what a heartbeat of a worker from before progress was compact resumes from). */
export function progressOf(measurements: Measurement[], startedAt = ''): AnalysisProgress {
  const p = startProgress(startedAt);
  for (const m of measurements) addMeasurement(p, m);
  return p;
}

export type Assessment = { done: false } | { done: true; phase: MeasurementPhase; message: string };

/**
 * Where a run stands after these measurements. It ends early as soon as a
 * limit is passed (Failed, Inconclusive, Error, checked in that order), and
 * otherwise Successful after `count` measurements that were not errors:
 * errors are retried, so a run whose every measurement errored never succeeds.
 */
export function assessAnalysis(check: AnalysisCheck, p: AnalysisProgress): Assessment {
  const t = p.taken;
  const last = p.recent.at(-1);
  const summary = `${check.name}: ${summarize(t)}`;
  if (t.Failed > check.failureLimit) {
    return { done: true, phase: 'Failed', message: `${summary}, more than failureLimit ${check.failureLimit}; last ${last?.message}` };
  }
  if (t.Inconclusive > check.inconclusiveLimit) {
    return { done: true, phase: 'Inconclusive', message: `${summary}, more than inconclusiveLimit ${check.inconclusiveLimit}; last ${last?.message}` };
  }
  if (p.consecutiveErrors > check.consecutiveErrorLimit) {
    return {
      done: true,
      phase: 'Error',
      message: `${check.name}: analysis provider ${check.provider} failed ${p.consecutiveErrors} times in a row, more than consecutiveErrorLimit ${check.consecutiveErrorLimit}; last: ${last?.message}`,
    };
  }
  if (t.Successful + t.Failed + t.Inconclusive >= (check.count ?? 1)) return { done: true, phase: 'Successful', message: summary };
  return { done: false };
}

function summarize(t: Record<MeasurementPhase, number>): string {
  const parts = (['Successful', 'Failed', 'Inconclusive', 'Error'] as const).filter((p) => t[p] > 0).map((p) => `${t[p]} ${p}`);
  return parts.length ? parts.join(', ') : 'no measurements';
}

/** How long to wait before the next measurement: initialDelay before the first, then interval (an error is retried after interval, or ERROR_RETRY_MS without one). */
export function nextMeasurementDelayMs(check: AnalysisCheck, p: AnalysisProgress): number {
  const last = p.recent.at(-1);
  if (!last) return check.initialDelayMs ?? 0;
  return check.intervalMs ?? (last.phase === 'Error' ? ERROR_RETRY_MS : 0);
}
