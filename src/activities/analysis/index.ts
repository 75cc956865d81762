/**
 * runAnalysis: one heartbeating activity takes every measurement of a check
 * (initialDelay, then count measurements interval apart) and returns the
 * counts by phase with the latest few, so a 30-minute analysis adds a
 * handful of history events of a size that does not grow with its count.
 * Its heartbeat details carry the same progress: a worker that dies mid-run
 * is followed by one that goes on where it stopped. Cancellation (a
 * rollback) ends it at once.
 */
import { ApplicationFailure, activityInfo, cancellationSignal, heartbeat, sleep } from '@temporalio/activity';
import type { AnalysisCheck, AnalysisResult, Measurement } from '../../domain/analysis';
import {
  addMeasurement,
  assessAnalysis,
  measurementPhase,
  nextMeasurementDelayMs,
  progressOf,
  startProgress,
  type AnalysisProgress,
} from '../../domain/analysisEvaluator';
import { createHttpProvider, type HttpProviderDeps } from './http';
import { createPrometheusProvider } from './prometheus';
import { providerRegistry, type AnalysisProviders } from './provider';

export interface RunAnalysisInput {
  target: string;
  check: AnalysisCheck;
  /** {{target}} {{release}} {{blue}} {{green}} */
  vars: Record<string, string>;
}

/** Told of every measurement as it is taken (the worker's live metrics). */
export type MeasurementObserver = (e: { target: string; check: AnalysisCheck; measurement: Measurement }) => void;

export interface AnalysisActivitiesDeps {
  providers: AnalysisProviders;
  onMeasurement?: MeasurementObserver;
  /** One measurement's time limit; a provider slower than that errs. */
  measurementTimeoutMs?: number;
  /** Longest sleep between heartbeats while waiting for the next measurement. */
  heartbeatEveryMs?: number;
  /** The time the run waits in (default the wall clock): a test of a 30-day analysis gives one that skips, as the time-skipping server does for timers. */
  clock?: AnalysisClock;
}

export interface AnalysisClock {
  now(): number;
  /** Resolves after ms, or rejects when the activity is cancelled. */
  sleep(ms: number): Promise<void>;
}

const wallClock: AnalysisClock = { now: () => Date.now(), sleep: (ms) => sleep(ms) };

/** A provider's words in a measurement are at most this long, on one line: whatever a provider answers, the state shows a short description. */
export const MESSAGE_MAX_LENGTH = 200;

/** prometheus (when the worker knows a Prometheus) and http (to the hosts each target's policy allows). */
export function builtInProviders(deps: { prometheusUrl?: string } & HttpProviderDeps): AnalysisProviders {
  return {
    ...(deps.prometheusUrl ? { prometheus: createPrometheusProvider({ url: deps.prometheusUrl }) } : {}),
    http: createHttpProvider(deps),
  };
}

export function createAnalysisActivities(deps: AnalysisActivitiesDeps) {
  const providers = providerRegistry(deps.providers);
  const timeoutMs = deps.measurementTimeoutMs ?? 10_000;
  const heartbeatEveryMs = deps.heartbeatEveryMs ?? 5_000;
  const clock = deps.clock ?? wallClock;

  async function measure(input: RunAnalysisInput): Promise<Measurement> {
    const at = new Date(clock.now()).toISOString();
    const signal = AbortSignal.any([cancellationSignal(), AbortSignal.timeout(timeoutMs)]);
    try {
      const value = await providers[input.check.provider].measure({ ...input, signal });
      return { at, ...measurementPhase(input.check, value), ...(value === undefined ? {} : { value }) };
    } catch (err) {
      // A rollback cancels: that is no provider error, the run ends here; so does a check that may not run at all.
      if (cancellationSignal().aborted) throw cancellationSignal().reason;
      if (err instanceof ApplicationFailure && err.nonRetryable) throw err;
      const message = (err as { name?: string }).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : causeOf(err);
      return { at, phase: 'Error', message: oneLine(message) };
    }
  }

  return {
    async runAnalysis(input: RunAnalysisInput): Promise<AnalysisResult> {
      const { check } = input;
      if (!Object.hasOwn(providers, check.provider)) {
        const hint = check.provider === 'prometheus' ? ': set CUTOVER_PROMETHEUS_URL for the worker' : '';
        throw ApplicationFailure.nonRetryable(
          `analysis provider '${check.provider}' is not available on this worker (it has ${Object.keys(providers).join(', ')})${hint}`,
          'AnalysisProviderUnavailable',
        );
      }
      const progress = resumed(activityInfo().heartbeatDetails) ?? startProgress(new Date(clock.now()).toISOString());
      for (;;) {
        heartbeat(progress);
        const assessment = assessAnalysis(check, progress);
        if (assessment.done) return { check: check.name, phase: assessment.phase, measurements: progress.recent, taken: progress.taken, message: assessment.message };
        // Due times count from the last measurement (or the start), so a resumed run keeps its rhythm.
        const from = Date.parse(progress.recent.at(-1)?.at ?? progress.startedAt);
        const due = from + nextMeasurementDelayMs(check, progress);
        for (let left = due - clock.now(); left > 0; left = due - clock.now()) {
          await clock.sleep(Math.min(left, heartbeatEveryMs));
          heartbeat(progress);
        }
        const measurement = await measure(input);
        addMeasurement(progress, measurement);
        deps.onMeasurement?.({ target: input.target, check, measurement });
      }
    },
  };
}

/** A heartbeat's progress; one from a worker before progress was compact carries every measurement. */
function resumed(details: unknown): AnalysisProgress | undefined {
  const d = details as (AnalysisProgress & { measurements?: Measurement[] }) | undefined;
  if (!d) return undefined;
  return d.measurements ? progressOf(d.measurements, d.startedAt) : d;
}

/** One line of at most MESSAGE_MAX_LENGTH printable characters. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > MESSAGE_MAX_LENGTH ? `${flat.slice(0, MESSAGE_MAX_LENGTH - 1)}…` : flat;
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  // Duck-typed: fetch's errors come from another realm under jest.
  const message = typeof (err as Error)?.message === 'string' ? (err as Error).message : String(err);
  return cause?.code || cause?.message ? `${message}: ${cause.code ?? cause.message}` : message;
}

export type AnalysisActivities = ReturnType<typeof createAnalysisActivities>;
