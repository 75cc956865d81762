/** The Grafana dashboard in deploy/grafana queries only metrics that cutover exports (API, workflow sinks, analysis runs). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastify from 'fastify';
import { installMetrics, newRegistry } from '../../src/api/metrics';
import { createAnalysisMetrics } from '../../src/runtime/analysisMetrics';
import { projectRoot } from '../../src/runtime/binaries';
import { createWorkflowMetricsSinks } from '../../src/runtime/workflowMetrics';

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set(['sum', 'max', 'min', 'avg', 'count', 'rate', 'increase', 'histogram_quantile', 'by', 'without', 'and', 'or', 'unless', 'label_values']);

/** The metric names in a query: strings, label matchers, ranges, grouping labels and numbers taken out. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without)\s*\([^)]*\)/g, '')
    .replace(/,\s*[a-z_]+\s*\)/g, ')');
  return (bare.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? []).filter((w) => !PROMQL_WORDS.has(w));
}

async function exported(): Promise<Set<string>> {
  const registry = newRegistry();
  installMetrics(fastify(), registry);
  createWorkflowMetricsSinks(registry);
  createAnalysisMetrics(registry);
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m.name + suffix);
  }
  return names;
}

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { name: string; definition?: string }[] };
}

test('every query of the dashboard names a metric that cutover exports, and nothing else', async () => {
  const dashboard = JSON.parse(readFileSync(join(projectRoot, 'deploy/grafana/cutover-dashboard.json'), 'utf8')) as Dashboard;
  const names = await exported();
  const queries = [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: p.title, expr: t.expr }))),
    ...dashboard.templating.list.filter((v) => v.definition).map((v) => ({ where: `variable ${v.name}`, expr: v.definition! })),
  ];
  expect(queries.length).toBeGreaterThanOrEqual(12);
  for (const { where, expr } of queries) {
    const used = metricNames(expr);
    expect({ where, named: used.length > 0 }).toEqual({ where, named: true });
    for (const name of used) expect({ where, name, exported: names.has(name) }).toEqual({ where, name, exported: true });
  }
  // the four things the issue asks the dashboard to show
  const all = queries.map((q) => q.expr).join('\n');
  for (const metric of ['cutover_upgrade_status_total', 'cutover_step_duration_seconds_bucket', 'cutover_traffic_weight', 'cutover_analysis_runs_total']) {
    expect(all).toContain(metric);
  }
});

test('the name check finds a metric that does not exist', () => {
  expect(metricNames('sum by (le, step) (increase(cutover_nope_bucket{kind=~"$kind"}[$__range]))')).toEqual(['cutover_nope_bucket']);
  expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(a_b[5m]))) / c')).toEqual(['a_b', 'c']);
});
