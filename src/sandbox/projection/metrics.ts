/** One release of the projection service's Prometheus metrics: the queries it answered and the events its processor handled. */
import { Counter, Gauge, Registry } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  /** Queries by HTTP status: 503 while the release does not serve. */
  queries: Counter<'release' | 'status'>;
  events: Counter<'release'>;
}

export function serviceMetrics(release: string, lag: () => number | undefined): ServiceMetrics {
  const registry = new Registry();
  const queries = new Counter({ name: 'projection_queries_total', help: 'Queries answered, by release and HTTP status', labelNames: ['release', 'status'] as const, registers: [registry] });
  const events = new Counter({ name: 'projection_events_handled_total', help: "Events the release's processor applied to its read model", labelNames: ['release'] as const, registers: [registry] });
  new Gauge({
    name: 'projection_lag_events',
    help: "Events between the event store's head and the processor's position",
    labelNames: ['release'] as const,
    registers: [registry],
    collect() {
      const n = lag();
      if (n !== undefined) this.set({ release }, n);
    },
  });
  return { registry, queries, events };
}
