/**
 * The worker's half of the workflow metrics sinks: each call becomes a
 * prom-client metric in the registry that /metrics serves. Every name here
 * is what the Grafana dashboard (deploy/grafana/cutover-dashboard.json) queries,
 * with the live analysis metrics of analysisMetrics.ts.
 */
import type { InjectedSinks } from '@temporalio/worker';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { STATUSES } from '../domain/status';
import type { CutoverSinks } from '../workflows/sinks';

export function createWorkflowMetricsSinks(registry: Registry): InjectedSinks<CutoverSinks> {
  const registers = [registry];
  const statusEntered = new Counter({
    name: 'cutover_upgrade_status_total',
    help: 'Upgrades that entered a status (RUNNING counts started upgrades; SUCCEEDED, ROLLED_BACK, FAILED ended ones)',
    labelNames: ['kind', 'status'],
    registers,
  });
  const currentStatus = new Gauge({
    name: 'cutover_upgrade_status',
    help: "1 for the status of each target's latest upgrade seen by this worker, 0 for the others",
    labelNames: ['target', 'kind', 'status'],
    registers,
  });
  const stepDuration = new Histogram({
    name: 'cutover_step_duration_seconds',
    help: 'How long a step of an upgrade took (workflow time), by outcome',
    labelNames: ['kind', 'step', 'outcome'],
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600],
    registers,
  });
  const weight = new Gauge({ name: 'cutover_traffic_weight', help: 'Router weight (0-100) of each release of a target', labelNames: ['target', 'release'], registers });
  const analysisRuns = new Counter({
    name: 'cutover_analysis_runs_total',
    help: 'Analysis runs by their result (Successful, Failed, Inconclusive, Error)',
    labelNames: ['kind', 'check', 'provider', 'phase'],
    registers,
  });
  /** Releases with a weight series per target, so a retired release's series goes away. */
  const weighted = new Map<string, Set<string>>();

  return {
    metrics: {
      upgradeStatus: {
        fn: (_info, { target, kind, status }) => {
          statusEntered.inc({ kind, status });
          for (const s of STATUSES) currentStatus.set({ target, kind, status: s }, s === status ? 1 : 0);
        },
        callDuringReplay: false,
      },
      stepFinished: {
        fn: (_info, { kind, step, seconds, outcome }) => stepDuration.observe({ kind, step, outcome }, seconds),
        callDuringReplay: false,
      },
      trafficWeights: {
        fn: (_info, { target, weights }) => {
          for (const release of weighted.get(target) ?? []) if (!(release in weights)) weight.remove({ target, release });
          for (const [release, w] of Object.entries(weights)) weight.set({ target, release }, w);
          weighted.set(target, new Set(Object.keys(weights)));
        },
        callDuringReplay: false,
      },
      analysisFinished: {
        // the measurements themselves are recorded live by runAnalysis (src/runtime/analysisMetrics.ts)
        fn: (_info, { kind, provider, result }) => analysisRuns.inc({ kind, check: result.check, provider, phase: result.phase }),
        callDuringReplay: false,
      },
    },
  };
}
