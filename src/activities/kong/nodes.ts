/**
 * A Kong target's nodes, resolved when an activity runs: the platform that
 * runs its migrations commands and knows its nodes (the local sandbox's
 * kindPort, or Kubernetes, as the target is placed: ../targetAccess.ts), and
 * the counters of a release's nodes from their Prometheus metrics, each
 * node's read through the labels its version writes.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { KongAnswerError } from '../../domain/kong/answers';
import { isLocalKong, type KongNodeAddress } from '../../domain/kong/local';
import { parseKongMetrics, sumCounters, type KongCounters } from '../../domain/kong/metrics';
import type { KindActivityDeps } from '../kindActivityDeps';
import { targetAccess } from '../targetAccess';
import { kubernetesKong } from './kubernetes';
import { nodeApi } from './nodeApi';
import type { KongPlatform } from './platform';

export function kongNodes(deps: KindActivityDeps & { fetch?: typeof fetch }) {
  const api = nodeApi(deps.fetch ?? fetch);
  const targets = targetAccess(deps);

  function platform(name: string): KongPlatform {
    const access = targets.block(name, 'kong');
    const placed = targets.placement(name);
    if ('local' in placed) {
      const local = placed.local.kindPort;
      if (!isLocalKong(local)) {
        throw ApplicationFailure.nonRetryable(`target '${name}' is a local sandbox not run by this worker (only the worker of npm start runs it)`, 'Misconfigured');
      }
      return { run: ({ blue: _, ...i }) => local.runMigrations(i), nodes: (r) => local.nodes(r) };
    }
    return kubernetesKong({ target: name, placement: placed.kubernetes, access, kubeConfigFor: deps.kubeConfigFor });
  }

  /** One node's counters, its metrics read as the version its kong_node_info names writes them. */
  async function nodeCounters(n: KongNodeAddress, signal?: AbortSignal): Promise<KongCounters> {
    const text = await api.metrics(n, signal);
    try {
      const c = parseKongMetrics(text);
      if (!c.version) throw new KongAnswerError(`${n.pod} answered /metrics without kong_node_info, which Kong's Prometheus plugin always writes (kong/plugins/prometheus/exporter.lua)`, 'kong_node_info');
      return c;
    } catch (err) {
      if (err instanceof KongAnswerError) throw ApplicationFailure.nonRetryable(`${n.pod}: ${err.message}`, 'KongAnswer');
      throw err;
    }
  }

  /** Requests, 5xx and latency buckets summed over a release's nodes; no nodes, no requests. */
  async function counters(name: string, release: string, signal?: AbortSignal): Promise<KongCounters> {
    const nodes = await platform(name).nodes(release);
    return sumCounters(await Promise.all(nodes.map((n) => nodeCounters(n, signal))));
  }

  return { platform, counters };
}

export type KongNodes = ReturnType<typeof kongNodes>;
