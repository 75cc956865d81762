/**
 * Where a Kong target's pieces are, resolved when an activity runs: its
 * `kong:` block, the platform that runs its migrations commands and knows its
 * nodes (the local sandbox's kindPort, or Kubernetes), and the counters of a
 * release's nodes from their Prometheus metrics.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { TargetConfig } from '../../config/targets';
import type { CommandRun, KongNodeAddress, LocalKong } from '../../domain/kong/local';
import { parseKongMetrics, sumCounters, type KongCounters } from '../../domain/kong/metrics';
import type { MigrationsCommand } from '../../domain/kong/migrations';
import type { KongAccess } from '../../domain/kong/schema';
import type { KindActivityDeps } from '../kinds';
import { kubernetesKong } from './kubernetes';

/** Runs migrations commands and finds a release's nodes, on the target's platform. */
export interface KongPlatform {
  run(i: { version: string; command: MigrationsCommand; force?: boolean }): Promise<CommandRun>;
  nodes(release: string): Promise<KongNodeAddress[]>;
}

export function kongTargets(deps: KindActivityDeps & { fetch?: typeof fetch }) {
  const fetchFn = deps.fetch ?? fetch;

  function target(name: string): TargetConfig & { kong: KongAccess } {
    const t = deps.targets(name);
    if (t.kind !== 'kong' || !t.kong) throw ApplicationFailure.nonRetryable(`target '${name}' is not a Kong target with a kong: block`, 'Misconfigured');
    return t as TargetConfig & { kong: KongAccess };
  }

  function platform(name: string): KongPlatform {
    const t = target(name);
    if (t.local) {
      const local = deps.sandboxes?.get(name)?.kindPort as LocalKong | undefined;
      if (typeof local?.runMigrations !== 'function') {
        throw ApplicationFailure.nonRetryable(`target '${name}' is a local sandbox not run by this worker (only the worker of npm start runs it)`, 'Misconfigured');
      }
      return { run: (i) => local.runMigrations(i), nodes: (r) => local.nodes(r) };
    }
    if (!t.kubernetes) throw ApplicationFailure.nonRetryable(`target '${name}' has no placement`, 'Misconfigured');
    return kubernetesKong({ target: name, placement: t.kubernetes, access: t.kong, kubeConfigFor: deps.kubeConfigFor });
  }

  /** Requests, 5xx and latency buckets summed over a release's nodes; no nodes, no requests. */
  async function counters(name: string, release: string, signal?: AbortSignal): Promise<KongCounters> {
    const nodes = await platform(name).nodes(release);
    const texts = await Promise.all(
      nodes.map(async (n) => {
        const res = await fetchFn(`${n.statusUrl}/metrics`, { signal: signal ?? AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`metrics of ${n.pod}: HTTP ${res.status}`);
        return res.text();
      }),
    );
    return sumCounters(texts.map(parseKongMetrics));
  }

  return { target, platform, counters };
}

export type KongTargets = ReturnType<typeof kongTargets>;
