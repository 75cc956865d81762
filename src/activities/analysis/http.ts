/**
 * The http provider: GET the check's URL; `result` is a JSON field of a 2xx
 * answer (jsonPath), or without jsonPath the status code itself, so
 * `result == 200` is a smoke check.
 */
import { fillTemplate } from '../../domain/analysis';
import { numberOf, type AnalysisProvider } from './provider';

export function createHttpProvider(deps: { fetch?: typeof fetch } = {}): AnalysisProvider {
  const fetchFn = deps.fetch ?? fetch;
  return {
    async measure({ check, vars, signal }) {
      if (!check.url) throw new Error('the check has no url');
      const res = await fetchFn(fillTemplate(check.url, vars, encodeURIComponent), { headers: { accept: 'application/json' }, signal });
      if (!check.jsonPath) {
        await res.body?.cancel();
        return res.status;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status} from ${new URL(res.url || check.url).host}`);
      const body: unknown = await res.json().catch(() => {
        throw new Error('the answer is not JSON');
      });
      return numberOf(select(body, check.jsonPath), check.jsonPath);
    },
  };
}

/** A field by a simple JSONPath ($.a.b[0].c); a missing field is undefined (no data). */
function select(body: unknown, path: string): unknown {
  let at = body;
  for (const [, key, index] of path.matchAll(/\.?([A-Za-z0-9_-]+)|\[([0-9]+)\]/g)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key ?? Number(index)];
  }
  return at;
}
