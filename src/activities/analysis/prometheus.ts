/**
 * The prometheus provider: an instant query over Prometheus' HTTP API
 * (POST /api/v1/query). Its URL comes from the worker's configuration
 * (CUTOVER_PROMETHEUS_URL, or the embedded Prometheus), never from a request.
 */
import { fillTemplate } from '../../domain/analysis';
import { numberOf, type AnalysisProvider } from './provider';

interface QueryReply {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export function createPrometheusProvider(deps: { url: string; fetch?: typeof fetch }): AnalysisProvider {
  const fetchFn = deps.fetch ?? fetch;
  const endpoint = `${deps.url.replace(/\/+$/, '')}/api/v1/query`;
  return {
    async measure({ check, vars, signal }) {
      if (!check.query) throw new Error('the check has no query');
      const query = fillTemplate(check.query, vars);
      const res = await fetchFn(endpoint, { method: 'POST', body: new URLSearchParams({ query }), signal });
      const reply = (await res.json().catch(() => ({}))) as QueryReply;
      if (!res.ok || reply.status !== 'success' || !reply.data) {
        throw new Error(`Prometheus answered ${res.status}${reply.errorType ? ` ${reply.errorType}` : ''}${reply.error ? `: ${reply.error}` : ''}`);
      }
      return valueOf(reply.data);
    },
  };
}

/** One number from an instant query: an empty vector is no data; several series must be aggregated by the query. */
function valueOf(data: NonNullable<QueryReply['data']>): number | undefined {
  if (data.resultType === 'scalar') return numberOf((data.result as [number, string])[1], 'the scalar');
  if (data.resultType !== 'vector') throw new Error(`the query gives a ${data.resultType}; write one that gives a single number (an instant vector of one series, or a scalar)`);
  const samples = data.result as Sample[];
  if (samples.length === 0) return undefined;
  if (samples.length > 1) {
    const series = samples.slice(0, 3).map((s) => JSON.stringify(s.metric));
    throw new Error(`the query gives ${samples.length} series; aggregate them to one, e.g. with sum() or max() (${series.join(', ')}${samples.length > 3 ? ', ...' : ''})`);
  }
  return numberOf(samples[0].value[1], 'the sample');
}
