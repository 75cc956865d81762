/**
 * cutover's own metrics, from workflow code that may do no I/O: the workflow
 * calls these sinks, the worker records the calls in prom-client
 * (src/runtime/workflowMetrics.ts). Replayed workflow code does not call
 * them again (callDuringReplay false), so a count is not doubled when a
 * worker picks a history up.
 */
import { proxySinks, type Sink, type Sinks } from '@temporalio/workflow';
import type { AnalysisResult } from '../domain/analysis';
import type { UpgradeStatus } from '../domain/status';

export interface CutoverMetricsSink extends Sink {
  /** The upgrade entered this status (RUNNING when it starts, too). */
  upgradeStatus(e: { target: string; kind: string; status: UpgradeStatus }): void;
  /** A skeleton step (or a traffic step, as `traffic-<weight>`) ended after this many seconds of workflow time. */
  stepFinished(e: { kind: string; step: string; seconds: number; outcome: 'completed' | 'failed' }): void;
  /** The router weights now applied to the target, by release name (summing to 100). */
  trafficWeights(e: { target: string; weights: Record<string, number> }): void;
  /** A run of one analysis check ended. */
  analysisFinished(e: { target: string; kind: string; provider: string; result: AnalysisResult }): void;
}

export interface CutoverSinks extends Sinks {
  metrics: CutoverMetricsSink;
}

export const { metrics } = proxySinks<CutoverSinks>();
