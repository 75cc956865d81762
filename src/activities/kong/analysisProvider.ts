/**
 * The `kong` analysis provider: a check's query such as
 * `error-rate@{{green}}[5s]` measured from the gateways' own counters
 * (kong_http_requests_total, kong_request_latency_ms) of that release's
 * nodes, over the window (two readings) or since the nodes started. No
 * requests is no data: Inconclusive, never a success. A metric the nodes do
 * not export because of the Prometheus plugin's configuration is an error
 * that says so, never a reading of 0 or a wait for data that cannot come.
 */
import { fillTemplate } from '../../domain/analysis';
import { counterDelta, measureOf, parseKongQuery, type KongCounters } from '../../domain/kong/metrics';
import type { AnalysisProviders, MeasureInput } from '../analysis/provider';
import type { KindActivityDeps } from '../kindActivityDeps';
import { withClient } from '../pg';
import { clientConfig } from './database';
import { metricOffReason } from './prometheusPlugin';
import { targetAccess } from '../targetAccess';
import { kongNodes, type KongNodes } from './nodes';

async function measureKong(
  counters: KongNodes['counters'],
  offReason: (metric: 'requests' | 'latency') => Promise<string | undefined>,
  target: string,
  query: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const q = parseKongQuery(query);
  const first = await counters(target, q.release, signal);
  let c: KongCounters = first;
  if (q.windowMs) {
    await new Promise((r) => setTimeout(r, q.windowMs));
    c = counterDelta(await counters(target, q.release, signal), first);
  }
  const metric = q.measure === 'latency-p99' ? 'latency' : 'requests';
  if (!c.exported[metric]) {
    const reason = await offReason(metric);
    if (reason) throw new Error(reason);
  }
  return measureOf(q, c);
}

/** For the analysis provider registry (src/activities/analysis): { kong: provider }. */
export function kongAnalysisProviders(deps: KindActivityDeps & { fetch?: typeof fetch }): AnalysisProviders {
  const { counters } = kongNodes(deps);
  const targets = targetAccess(deps);
  return {
    kong: {
      measure(i: MeasureInput): Promise<number | undefined> {
        if (!i.check.query) throw new Error("a kong check needs a query such as 'error-rate@{{green}}[5s]'");
        const offReason = (metric: 'requests' | 'latency') => withClient(clientConfig(targets.block(i.target, 'kong'), targets.secret), (c) => metricOffReason(c, metric));
        return measureKong(counters, offReason, i.target, fillTemplate(i.check.query, i.vars), i.signal);
      },
    },
  };
}
