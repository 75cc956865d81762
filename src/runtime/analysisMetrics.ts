/**
 * Analysis metrics recorded on the worker as each measurement is taken, so a
 * 30-minute run shows its values while it runs (the run's result arrives
 * through the workflow's sink when it ends). A resumed run counts only the
 * measurements it takes itself.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MeasurementObserver } from '../activities/analysis';

export function createAnalysisMetrics(registry: Registry): MeasurementObserver {
  const registers = [registry];
  const measurements = new Counter({
    name: 'cutover_analysis_measurements_total',
    help: 'Analysis measurements by phase; Error is the provider not answering',
    labelNames: ['target', 'check', 'provider', 'phase'],
    registers,
  });
  const lastValue = new Gauge({ name: 'cutover_analysis_last_value', help: 'The last value an analysis check measured', labelNames: ['target', 'check'], registers });
  return ({ target, check, measurement }) => {
    measurements.inc({ target, check: check.name, provider: check.provider, phase: measurement.phase });
    if (measurement.value !== undefined) lastValue.set({ target, check: check.name }, measurement.value);
  };
}
