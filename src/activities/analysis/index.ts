/**
 * runAnalysis: one heartbeating activity takes every measurement of a check
 * (initialDelay, then count measurements interval apart) and returns them
 * all, so a 30-minute analysis adds a handful of history events. Its
 * heartbeat details carry the measurements so far: a worker that dies
 * mid-run is followed by one that goes on where it stopped. Cancellation
 * (a rollback) ends it at once.
 */
import { ApplicationFailure, activityInfo, cancellationSignal, heartbeat, sleep } from '@temporalio/activity';
import type { AnalysisCheck, AnalysisResult, Measurement } from '../../domain/analysis';
import { assessAnalysis, measurementPhase, nextMeasurementDelayMs } from '../../domain/analysisEvaluator';
import { createHttpProvider } from './http';
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
}

/** What a heartbeat carries, and what a retried attempt resumes from. */
interface Progress {
  startedAt: string;
  measurements: Measurement[];
}

/** prometheus (when the worker knows a Prometheus) and http. */
export function builtInProviders(deps: { prometheusUrl?: string; fetch?: typeof fetch }): AnalysisProviders {
  return {
    ...(deps.prometheusUrl ? { prometheus: createPrometheusProvider({ url: deps.prometheusUrl, fetch: deps.fetch }) } : {}),
    http: createHttpProvider({ fetch: deps.fetch }),
  };
}

export function createAnalysisActivities(deps: AnalysisActivitiesDeps) {
  const providers = providerRegistry(deps.providers);
  const timeoutMs = deps.measurementTimeoutMs ?? 10_000;
  const heartbeatEveryMs = deps.heartbeatEveryMs ?? 5_000;

  async function measure(input: RunAnalysisInput): Promise<Measurement> {
    const at = new Date().toISOString();
    const signal = AbortSignal.any([cancellationSignal(), AbortSignal.timeout(timeoutMs)]);
    try {
      const value = await providers[input.check.provider].measure({ ...input, signal });
      return { at, ...measurementPhase(input.check, value), ...(value === undefined ? {} : { value }) };
    } catch (err) {
      // A rollback cancels: that is no provider error, the run ends here.
      if (cancellationSignal().aborted) throw cancellationSignal().reason;
      const message = (err as { name?: string }).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : causeOf(err);
      return { at, phase: 'Error', message };
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
      const progress: Progress = (activityInfo().heartbeatDetails as Progress | undefined) ?? { startedAt: new Date().toISOString(), measurements: [] };
      for (;;) {
        heartbeat(progress);
        const assessment = assessAnalysis(check, progress.measurements);
        if (assessment.done) return { check: check.name, phase: assessment.phase, measurements: progress.measurements, message: assessment.message };
        // Due times count from the last measurement (or the start), so a resumed run keeps its rhythm.
        const from = Date.parse(progress.measurements.at(-1)?.at ?? progress.startedAt);
        const due = from + nextMeasurementDelayMs(check, progress.measurements);
        for (let left = due - Date.now(); left > 0; left = due - Date.now()) {
          await sleep(Math.min(left, heartbeatEveryMs));
          heartbeat(progress);
        }
        const measurement = await measure(input);
        progress.measurements.push(measurement);
        deps.onMeasurement?.({ target: input.target, check, measurement });
      }
    },
  };
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  // Duck-typed: fetch's errors come from another realm under jest.
  const message = typeof (err as Error)?.message === 'string' ? (err as Error).message : String(err);
  return cause?.code || cause?.message ? `${message}: ${cause.code ?? cause.message}` : message;
}

export type AnalysisActivities = ReturnType<typeof createAnalysisActivities>;
