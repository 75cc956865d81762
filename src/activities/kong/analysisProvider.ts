/**
 * The `kong` analysis provider: a check's query such as
 * `error-rate@{{green}}[5s]` measured from the gateways' own counters
 * (kong_http_requests_total, kong_request_latency_ms) of that release's
 * nodes, over the window (two readings) or since the nodes started. No
 * requests is no data: Inconclusive, never a success.
 */
import { fillTemplate } from '../../domain/analysis';
import { counterDelta, measureOf, parseKongQuery } from '../../domain/kong/metrics';
import type { AnalysisProviders, MeasureInput } from '../analysis/provider';
import type { KindActivityDeps } from '../kinds';
import { kongTargets, type KongTargets } from './targets';

export async function measureKong(counters: KongTargets['counters'], target: string, query: string, signal?: AbortSignal): Promise<number | undefined> {
  const q = parseKongQuery(query);
  const first = await counters(target, q.release, signal);
  if (!q.windowMs) return measureOf(q, first);
  await new Promise((r) => setTimeout(r, q.windowMs));
  return measureOf(q, counterDelta(await counters(target, q.release, signal), first));
}

/** For the analysis provider registry (src/activities/analysis): { kong: provider }. */
export function kongAnalysisProviders(deps: KindActivityDeps & { fetch?: typeof fetch }): AnalysisProviders {
  const { counters } = kongTargets(deps);
  return {
    kong: {
      measure(i: MeasureInput): Promise<number | undefined> {
        if (!i.check.query) throw new Error("a kong check needs a query such as 'error-rate@{{green}}[5s]'");
        return measureKong(counters, i.target, fillTemplate(i.check.query, i.vars), i.signal);
      },
    },
  };
}
