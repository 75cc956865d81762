/**
 * Why Kong exports no kong_http_requests_total or kong_request_latency_ms,
 * from the Prometheus plugin's config in the Kong database (the plugins
 * table), read through its schema: Kong counts a request only where a
 * prometheus plugin with status_code_metrics (latency_metrics for the
 * latency histogram) ran on it (kong/plugins/prometheus/handler.lua), both
 * off by default (kong/plugins/prometheus/schema.lua), and then writes no
 * line at all for the metric (kong/plugins/prometheus/prometheus.lua), not 0.
 */
import type { Client } from 'pg';
import { KongAnswerError, PrometheusConfig, kongAnswer } from '../../domain/kong/answers';

const METRIC = {
  requests: { name: 'kong_http_requests_total', flag: 'status_code_metrics' },
  latency: { name: 'kong_request_latency_ms', flag: 'latency_metrics' },
} as const;

/** Why `metric` is absent because of the plugin's configuration, or undefined: a plugin enables it, and no request has been counted yet. */
export async function metricOffReason(c: Client, metric: keyof typeof METRIC): Promise<string | undefined> {
  const { name, flag } = METRIC[metric];
  const { rows: table } = await c.query<{ t: string | null }>(`SELECT to_regclass('plugins')::text AS t`);
  const { rows } = table[0]!.t
    ? await c.query<{ id: string; config: unknown }>(`SELECT id::text, config FROM plugins WHERE name = 'prometheus' AND enabled ORDER BY id`)
    : { rows: [] };
  if (!rows.length) {
    return `Kong exports no ${name}: no prometheus plugin is enabled in the Kong database; enable one with config.${flag}: true (POST /plugins {"name":"prometheus","config":{"${flag}":true}})`;
  }
  const configs = rows.map((r) => {
    try {
      return kongAnswer(PrometheusConfig, r.config, { answer: `the config of prometheus plugin ${r.id}` });
    } catch (err) {
      if (err instanceof KongAnswerError) throw new Error(err.message, { cause: err });
      throw err;
    }
  });
  if (configs.some((cfg) => cfg[flag] === true)) return undefined;
  return (
    `Kong exports no ${name}: the prometheus plugin (${rows.map((r) => r.id).join(', ')}) is configured without ${flag} (off by default); ` +
    `set config.${flag}: true (PATCH /plugins/<id>) to measure this`
  );
}
