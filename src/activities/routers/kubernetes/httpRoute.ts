/**
 * A Gateway API HTTPRoute (gateway.networking.k8s.io/v1) as a router: every
 * rule's backendRefs become the releases' own Services (./releaseServices.ts)
 * at their weights, so traffic moves in steps. Written with a merge patch
 * conditional on the resourceVersion read (a concurrent edit is a 409 and a
 * retry); read back from the route as the API server stored it, its first
 * rule's backendRefs by release. Its readiness is what the Gateway
 * controllers wrote in its status: Accepted and ResolvedRefs per parent, for
 * the generation they saw. Before cutover's first switch the route leads to
 * the user's own Service, whose selector then says who serves.
 */
import type { HttpRouteRouter } from '../../../config/routers';
import { releaseServiceName } from '../../../domain/kubernetes';
import type { ReleaseWeights, RouterReading } from '../../../domain/router';
import type { Cluster, CustomResource } from '../../platforms/kubernetes/client';
import type { ClusterRouter } from './clusterRouter';
import { ReleaseServices } from './releaseServices';

const HTTP_ROUTE: CustomResource = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute' };

interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  port?: number;
  weight?: number;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  observedGeneration?: number;
}

interface HTTPRoute {
  metadata: { name: string; resourceVersion: string; generation?: number };
  spec: { rules?: { backendRefs?: BackendRef[] }[] };
  status?: { parents?: { parentRef: { name: string; namespace?: string }; controllerName: string; conditions?: Condition[] }[] };
}

/** Per parent Gateway, what its controller says of the route (the spec's two route conditions), and whether it has seen this generation. */
export function routeReadiness(route: HTTPRoute): string {
  const parents = route.status?.parents ?? [];
  if (!parents.length) return 'no Gateway controller has written a status for it';
  return parents
    .map((p) => {
      const said = (p.conditions ?? []).filter((c) => c.type === 'Accepted' || c.type === 'ResolvedRefs');
      const seen = Math.min(...said.map((c) => c.observedGeneration ?? 0));
      const stale = route.metadata.generation !== undefined && seen < route.metadata.generation ? ` (of generation ${seen}; ${route.metadata.generation} not seen yet)` : '';
      const conditions = said.map((c) => `${c.type} ${c.status}${c.status === 'True' ? '' : ` (${c.reason})`}`).join(', ');
      return `Gateway ${p.parentRef.name} (${p.controllerName}): ${conditions || 'no conditions'}${stale}`;
    })
    .join('; ');
}

export function httpRouteRouter(c: Cluster, config: HttpRouteRouter): ClusterRouter {
  const services = new ReleaseServices(c);
  const read = () => c.readCustom<HTTPRoute>(HTTP_ROUTE, config.name);
  /** The first rule's backendRefs by release (a Gateway's default weight is 1). */
  const reading = (route: HTTPRoute, written?: string[]): Promise<RouterReading> =>
    services.reading((route.spec.rules?.[0]?.backendRefs ?? []).map((r) => ({ service: r.name, weight: r.weight ?? 1 })), routeReadiness(route), written);

  return {
    name: `HTTPRoute ${config.name} in ${c.where()}`,
    perRelease: services,

    async read() {
      return services.orSelected(await reading(await read()));
    },

    async write(weights: ReleaseWeights, owner?: string) {
      const current = await read();
      const port = (await c.readService()).spec?.ports?.[0]?.port;
      const releases = Object.keys(weights);
      await services.ensureFor(releases, owner);
      const backendRefs: BackendRef[] = Object.entries(weights).map(([release, weight]) => ({ group: '', kind: 'Service', name: releaseServiceName(release), port, weight }));
      const rules = current.spec.rules ?? [{}];
      const same = (refs: BackendRef[] = []) =>
        refs.length === backendRefs.length && refs.every((r, i) => r.name === backendRefs[i]!.name && r.weight === backendRefs[i]!.weight && r.port === port);
      if (rules.every((r) => same(r.backendRefs))) return { changed: false, served: await reading(current, releases) };
      // A merge patch replaces the rules list whole; the resourceVersion makes a concurrent edit a 409 and a retry.
      const stored = await c.patchCustom<HTTPRoute>(
        HTTP_ROUTE,
        config.name,
        { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { rules: rules.map((r) => ({ ...r, backendRefs })) } },
        `setting the weights of HTTPRoute ${config.name}`,
      );
      return { changed: true, served: await reading(stored, releases) };
    },
  };
}
