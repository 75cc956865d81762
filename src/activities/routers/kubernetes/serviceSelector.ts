/**
 * The Kubernetes Service selector as a router: the target's Service selects
 * one release's pods, so traffic moves all at once (no split). A release is
 * selected by its release label, or the first blue (which selects by app
 * labels that green's pods carry too) by its controller's revision label,
 * so green's pods are never selected with it. Read back: the release the
 * stored selector names. The Service says nothing of its own readiness.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { V1Service } from '@kubernetes/client-node';
import { RELEASE_LABEL, serviceSelectorFor, type Workload } from '../../../domain/kubernetes';
import type { ReleaseWeights, RouterReading } from '../../../domain/router';
import type { Cluster } from '../../platforms/kubernetes/client';
import type { ClusterRouter } from './clusterRouter';

/** The release a Service's selector picks: its release label, else (the first blue) the configured workload. */
function selected(c: Cluster, service: V1Service): RouterReading {
  return { weights: { [service.spec?.selector?.[RELEASE_LABEL] ?? c.placement.workload.name]: 100 } };
}

/**
 * Points the target's Service at one release's pods only (a merge patch;
 * nothing sent if it does already). Every router's deployGreen does this
 * for blue first: green's pods carry blue's app labels.
 */
export async function selectRelease(c: Cluster, w: Workload, service?: Promise<V1Service>): Promise<{ changed: boolean; service: V1Service }> {
  const current = await (service ?? c.readService());
  const selector = current.spec?.selector ?? {};
  const revision = RELEASE_LABEL in (w.spec?.selector.matchLabels ?? {}) ? undefined : await c.revision(w);
  const desired = serviceSelectorFor(selector, w, c.kind, revision);
  if (Object.entries(desired).every(([k, v]) => (v === null ? !(k in selector) : selector[k] === v))) return { changed: false, service: current };
  const name = c.placement.service;
  return { changed: true, service: await c.patchService(name, { spec: { selector: desired } }, `switching Service ${name}`) };
}

export function serviceSelectorRouter(c: Cluster): ClusterRouter {
  return {
    name: `the selector of Service ${c.placement.service} in ${c.where()}`,

    async read() {
      return selected(c, await c.readService());
    },

    async write(weights: ReleaseWeights, owner?: string) {
      const serving = Object.keys(weights);
      if (serving.length !== 1) {
        throw ApplicationFailure.nonRetryable(
          `target '${c.target}' switches traffic with its Service selector, which cannot split ${JSON.stringify(weights)}: ` +
            'name a router that can split it in kubernetes.router (or the older kubernetes.httpRoute), or use traffic all-at-once',
          'Invalid',
        );
      }
      // both reads at once: this runs the moment green is ready, every round trip counts
      const service = c.readService();
      service.catch(() => undefined); // awaited in selectRelease, unless the workload read fails first
      const w = await (owner ? c.ownWorkload(serving[0]!) : c.readWorkload(serving[0]!));
      const { changed, service: stored } = await selectRelease(c, w, service);
      return { changed, served: selected(c, stored) };
    },
  };
}
