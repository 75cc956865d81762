/**
 * Where a Kong target's pieces are, resolved when an activity runs: its
 * `kong:` block, the platform that runs its migrations commands and knows its
 * nodes (the local sandbox's kindPort, or Kubernetes), and the counters of a
 * release's nodes from their Prometheus metrics, each node's read through
 * the labels its version writes.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { TargetConfig } from '../../config/targets';
import { KongAnswerError } from '../../domain/kong/answers';
import { isLocalKong, type KongNodeAddress } from '../../domain/kong/local';
import { parseKongMetrics, sumCounters, type KongCounters } from '../../domain/kong/metrics';
import type { KongAccess } from '../../domain/kong/schema';
import type { KindActivityDeps } from '../kindActivityDeps';
import { kubernetesKong } from './kubernetes';
import { nodeApi } from './nodeApi';
import type { KongPlatform } from './platform';

export function kongTargets(deps: KindActivityDeps & { fetch?: typeof fetch }) {
  const api = nodeApi(deps.fetch ?? fetch);

  function target(name: string): TargetConfig & { kong: KongAccess } {
    const t = deps.targets(name);
    if (t.kind !== 'kong' || !t.kong) throw ApplicationFailure.nonRetryable(`target '${name}' is not a Kong target with a kong: block`, 'Misconfigured');
    return t as TargetConfig & { kong: KongAccess };
  }

  function platform(name: string): KongPlatform {
    const t = target(name);
    if (t.local) {
      const local = deps.sandboxes?.get(name)?.kindPort;
      if (!isLocalKong(local)) {
        throw ApplicationFailure.nonRetryable(`target '${name}' is a local sandbox not run by this worker (only the worker of npm start runs it)`, 'Misconfigured');
      }
      return { run: ({ blue: _, ...i }) => local.runMigrations(i), nodes: (r) => local.nodes(r) };
    }
    if (!t.kubernetes) throw ApplicationFailure.nonRetryable(`target '${name}' has no placement`, 'Misconfigured');
    return kubernetesKong({ target: name, placement: t.kubernetes, access: t.kong, kubeConfigFor: deps.kubeConfigFor });
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

  return { target, platform, counters };
}

export type KongTargets = ReturnType<typeof kongTargets>;
