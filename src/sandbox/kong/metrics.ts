/** The gateway's Prometheus metrics, named as Kong's Prometheus plugin names them. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'service' | 'route' | 'code' | 'source'>;
  latency: Histogram<'service' | 'route'>;
  reachable: Gauge;
}

export function gatewayMetrics(version: string, nodeId: string): GatewayMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'kong_http_requests_total',
    help: 'HTTP status codes per service/route in Kong; source is service (the upstream answered) or kong (the gateway did)',
    labelNames: ['service', 'route', 'code', 'source'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'kong_request_latency_ms',
    help: 'Total latency incurred during requests for each service/route in Kong',
    labelNames: ['service', 'route'] as const,
    buckets: [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000],
    registers: [registry],
  });
  const reachable = new Gauge({ name: 'kong_datastore_reachable', help: 'Datastore reachable from Kong, 0 is unreachable', registers: [registry] });
  const info = new Gauge({ name: 'kong_node_info', help: 'Kong Node metadata information', labelNames: ['node_id', 'version'] as const, registers: [registry] });
  info.set({ node_id: nodeId, version }, 1);
  return { registry, requests, latency, reachable };
}
