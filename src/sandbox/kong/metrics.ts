/**
 * The gateway's Prometheus metrics as Kong's Prometheus plugin writes them at
 * the version it emulates (kong/plugins/prometheus/exporter.lua, handler.lua,
 * prometheus.lua): kong_http_requests_total only where the plugin's config
 * has status_code_metrics, kong_request_latency_ms only with latency_metrics
 * (its buckets UPSTREAM_LATENCY_BUCKETS), both labelled with `workspace` from
 * 3.7 and counting only requests that matched a route; a metric with no
 * sample is not written at all; families in the order of their keys, a
 * bucket's `le` last. (The plugin's other families, memory, timers and
 * upstream health, cutover does not read: left out.)
 */
import type { GatewayVersion } from './schema';

const REQUEST_LATENCY_BUCKETS = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000];

/** What the enabled prometheus plugins' config turns on. */
export interface PluginMetricsConfig {
  statusCodeMetrics: boolean;
  latencyMetrics: boolean;
}

export interface NginxStatistics {
  connections_active: number;
  connections_reading: number;
  connections_writing: number;
  connections_waiting: number;
  connections_accepted: number;
  connections_handled: number;
  total_requests: number;
}

type Labels = [string, string][];
const render = (labels: Labels): string => (labels.length ? `{${labels.map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}` : '');

interface Family {
  help: string;
  type: 'gauge' | 'counter' | 'histogram';
  lines: string[];
}

export class GatewayMetrics {
  config: PluginMetricsConfig = { statusCodeMetrics: false, latencyMetrics: false };
  reachable = false;
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, { labels: Labels; buckets: number[]; count: number; sum: number }>();

  constructor(
    private readonly v: GatewayVersion,
    private readonly nodeId: string,
  ) {}

  /** A request that matched a route (Kong's log phase writes nothing for one that matched none). */
  observe(r: { service: string; route: string; code: number; source: 'service' | 'kong'; latencyMs: number }): void {
    const route: Labels = [
      ['service', r.service],
      ['route', r.route],
    ];
    const workspace: Labels = this.v.features.metricsWorkspaceLabel ? [['workspace', 'default']] : [];
    if (this.config.statusCodeMetrics) {
      const key = render([...route, ['code', String(r.code)], ['source', r.source], ...workspace, ['consumer', '']]);
      this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    }
    if (this.config.latencyMetrics) {
      const labels = [...route, ...workspace];
      const key = render(labels);
      const h = this.latency.get(key) ?? { labels, buckets: REQUEST_LATENCY_BUCKETS.map(() => 0), count: 0, sum: 0 };
      REQUEST_LATENCY_BUCKETS.forEach((b, i) => (h.buckets[i] += r.latencyMs <= b ? 1 : 0));
      h.count += 1;
      h.sum += r.latencyMs;
      this.latency.set(key, h);
    }
  }

  /** The /metrics text. */
  text(nginx: NginxStatistics): string {
    const node: Labels = [['node_id', this.nodeId]];
    const states = ['accepted', 'active', 'handled', 'reading', 'total', 'waiting', 'writing'] as const;
    const stat = (s: (typeof states)[number]) => (s === 'total' ? nginx.total_requests : nginx[`connections_${s}`]);
    const families: Record<string, Family> = {
      kong_datastore_reachable: { help: 'Datastore reachable from Kong, 0 is unreachable', type: 'gauge', lines: [`kong_datastore_reachable ${this.reachable ? 1 : 0}`] },
      kong_http_requests_total: {
        help: 'HTTP status codes per consumer/service/route in Kong',
        type: 'counter',
        lines: [...this.requests].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `kong_http_requests_total${k} ${n}`),
      },
      kong_nginx_connections_total: {
        help: 'Number of connections by subsystem',
        type: 'gauge',
        lines: states.map((s) => `kong_nginx_connections_total${render([...node, ['subsystem', 'http'], ['state', s]])} ${stat(s)}`),
      },
      kong_nginx_requests_total: { help: 'Number of requests total', type: 'gauge', lines: [`kong_nginx_requests_total${render([...node, ['subsystem', 'http']])} ${nginx.total_requests}`] },
      kong_node_info: { help: 'Kong Node metadata information', type: 'gauge', lines: [`kong_node_info${render([...node, ['version', this.v.version]])} 1`] },
      kong_request_latency_ms: {
        help: 'Total latency incurred during requests for each service/route in Kong',
        type: 'histogram',
        lines: [...this.latency.values()].flatMap((h) => [
          ...REQUEST_LATENCY_BUCKETS.map((b, i) => `kong_request_latency_ms_bucket${render([...h.labels, ['le', String(b)]])} ${h.buckets[i]}`),
          `kong_request_latency_ms_bucket${render([...h.labels, ['le', '+Inf']])} ${h.count}`,
          `kong_request_latency_ms_count${render(h.labels)} ${h.count}`,
          `kong_request_latency_ms_sum${render(h.labels)} ${h.sum}`,
        ]),
      },
    };
    return Object.entries(families)
      .filter(([, f]) => f.lines.length > 0)
      .flatMap(([name, f]) => [`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.lines])
      .join('\n')
      .concat('\n');
  }
}
