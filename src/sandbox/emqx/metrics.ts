/**
 * One sandbox node's Prometheus metrics, named as EMQX's own endpoint
 * (GET /api/v5/prometheus/stats) names them: this node's connections and
 * the messages its clients published and were sent.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export interface NodeMetrics {
  registry: Registry;
  /** PUBLISH packets received from this node's clients. */
  received: Counter;
  /** Messages delivered to this node's clients. */
  sent: Counter;
}

export interface NodeCountsSource {
  /** Connected clients now. */
  live(): number;
  /** Sessions this node owns, connected or not (what EMQX counts as connections). */
  sessions(): Promise<number>;
}

export function nodeMetrics(node: NodeCountsSource): NodeMetrics {
  const registry = new Registry();
  new Gauge({
    name: 'emqx_connections_count',
    help: 'Sessions on this node, connected or not',
    registers: [registry],
    async collect() {
      this.set(await node.sessions());
    },
  });
  new Gauge({
    name: 'emqx_live_connections_count',
    help: 'Clients connected to this node',
    registers: [registry],
    collect() {
      this.set(node.live());
    },
  });
  const received = new Counter({ name: 'emqx_messages_received', help: 'Messages received from clients', registers: [registry] });
  const sent = new Counter({ name: 'emqx_messages_sent', help: 'Messages sent to clients', registers: [registry] });
  return { registry, received, sent };
}
