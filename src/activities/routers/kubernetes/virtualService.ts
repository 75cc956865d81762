/**
 * An Istio VirtualService (networking.istio.io/v1) as a router: the
 * destinations of its http routes (every one, or those the target names)
 * and of its tcp routes become the releases' own Services
 * (./releaseServices.ts) at their weights, each keeping the port its route
 * had; a route's match, retries, timeout and the rest stay as written.
 * Written with a merge patch conditional on the resourceVersion read (a
 * concurrent edit is a 409 and a retry); read back from the VirtualService
 * as the API server stored it, its first weighted route's destinations by
 * release. Its readiness is what istiod wrote in its status, where its
 * status reporting is on: the Reconciled condition ("3/3 proxies up to
 * date.", pilot/pkg/status/distribution) and its analysers' validation
 * messages. A release is a Service of its own, never a subset of one (a
 * DestinationRule stays the user's). Before cutover's first switch the
 * routes lead to the user's own Service, whose selector then says who serves.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { VirtualServiceRouter } from '../../../config/routers';
import { releaseServiceName } from '../../../domain/kubernetes';
import type { ReleaseWeights, RouterReading } from '../../../domain/router';
import type { Cluster, CustomResource } from '../../platforms/kubernetes/client';
import type { ClusterRouter } from './clusterRouter';
import { ReleaseServices } from './releaseServices';

const VIRTUAL_SERVICE: CustomResource = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', kind: 'VirtualService' };

interface Destination {
  host: string;
  port?: { number?: number };
  subset?: string;
}

interface Route {
  name?: string;
  route?: { destination: Destination; weight?: number; headers?: unknown }[];
}

interface VirtualService {
  metadata: { name: string; resourceVersion: string; generation?: number };
  spec: { http?: Route[]; tcp?: Route[] };
  status?: {
    conditions?: { type: string; status: string; message?: string; observedGeneration?: number | string }[];
    validationMessages?: { level?: string; type?: { code?: string; name?: string } }[];
    observedGeneration?: number | string;
  };
}

/** What istiod says of it: its Reconciled condition and validation messages, and whether it has seen this generation. */
export function virtualServiceReadiness(vs: VirtualService): string {
  const { status } = vs;
  const reconciled = status?.conditions?.find((c) => c.type === 'Reconciled');
  const messages = (status?.validationMessages ?? []).map((m) => `${[m.type?.code, m.type?.name].filter(Boolean).join(' ') || 'a message'} (${m.level ?? 'UNKNOWN'})`);
  if (!reconciled && !messages.length) return 'istiod has written no status for it (its status reporting is off, or it has not seen it)';
  const said = [...(reconciled ? [`Reconciled ${reconciled.status}${reconciled.message ? ` (${reconciled.message})` : ''}`] : []), ...messages].join('; ');
  const seen = Number(reconciled?.observedGeneration ?? status?.observedGeneration ?? 0);
  const stale = vs.metadata.generation !== undefined && seen < vs.metadata.generation ? ` (of generation ${seen}; ${vs.metadata.generation} not seen yet)` : '';
  return `istiod: ${said}${stale}`;
}

/** A destination's Service in the VirtualService's namespace (`name`, `name.<namespace>[.svc…]`); any other host as it is, which no Service is named. */
function serviceOf(host: string, namespace: string): string {
  const [name, ns, ...rest] = host.split('.');
  return ns === undefined || (ns === namespace && (rest.length === 0 || rest[0] === 'svc')) ? name! : host;
}

export function virtualServiceRouter(c: Cluster, config: VirtualServiceRouter): ClusterRouter {
  const services = new ReleaseServices(c);
  const name = `VirtualService ${config.name} in ${c.where()}`;
  const read = () => c.readCustom<VirtualService>(VIRTUAL_SERVICE, config.name);

  /** Which http routes carry the weights: those named (or all); every tcp route does too. */
  function weighted(vs: VirtualService): boolean[] {
    const http = vs.spec.http ?? [];
    const missing = (config.routes ?? []).filter((r) => !http.some((h) => h.name === r));
    if (missing.length) {
      throw ApplicationFailure.nonRetryable(`${name} has no http route named ${missing.join(', ')} (its routes: ${http.map((h) => h.name ?? '(unnamed)').join(', ') || 'none'})`, 'Misconfigured');
    }
    const picked = http.map((h) => !config.routes || config.routes.includes(h.name ?? ''));
    if (!picked.some(Boolean) && !vs.spec.tcp?.length) throw ApplicationFailure.nonRetryable(`${name} has no http or tcp route to weight`, 'Misconfigured');
    return picked;
  }

  /** The first weighted route's destinations by release (one destination alone, without a weight, gets everything). */
  function reading(vs: VirtualService, written?: string[]): Promise<RouterReading> {
    const picked = weighted(vs);
    const first = (vs.spec.http ?? []).find((_, i) => picked[i]) ?? vs.spec.tcp?.[0];
    const destinations = (first?.route ?? []).map((d) => ({ service: serviceOf(d.destination.host, c.namespace), weight: d.weight ?? 100 }));
    return services.reading(destinations, virtualServiceReadiness(vs), written);
  }

  return {
    name,
    perRelease: services,

    async read() {
      return services.orSelected(await reading(await read()));
    },

    async write(weights: ReleaseWeights, owner?: string) {
      const current = await read();
      const picked = weighted(current);
      const releases = Object.keys(weights);
      await services.ensureFor(releases, owner);
      // each route keeps the port it led to (a Service may have several)
      const destinations = (r: Route) => {
        const port = r.route?.[0]?.destination.port;
        return Object.entries(weights).map(([release, weight]) => ({ destination: { host: releaseServiceName(release), ...(port ? { port } : {}) }, weight }));
      };
      const same = (r: Route) => {
        const want = destinations(r);
        return (
          r.route?.length === want.length &&
          r.route.every((d, i) => d.destination.host === want[i]!.destination.host && !d.destination.subset && d.destination.port?.number === want[i]!.destination.port?.number && d.weight === want[i]!.weight)
        );
      };
      const http = (current.spec.http ?? []).map((r, i) => (picked[i] && !same(r) ? { ...r, route: destinations(r) } : r));
      const tcp = current.spec.tcp?.map((r) => (same(r) ? r : { ...r, route: destinations(r) }));
      const unchanged = http.every((r, i) => r === current.spec.http?.[i]) && (tcp ?? []).every((r, i) => r === current.spec.tcp?.[i]);
      if (unchanged) return { changed: false, served: await reading(current, releases) };
      // A merge patch replaces each list whole (the routes not weighted go as they are); the resourceVersion makes a concurrent edit a 409 and a retry.
      const stored = await c.patchCustom<VirtualService>(
        VIRTUAL_SERVICE,
        config.name,
        { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { ...(current.spec.http ? { http } : {}), ...(tcp ? { tcp } : {}) } },
        `setting the weights of VirtualService ${config.name}`,
      );
      return { changed: true, served: await reading(stored, releases) };
    },
  };
}
