/**
 * The routers of targets on Kubernetes, one module each, by the type the
 * target's configuration names (src/config/routers.ts). The table is typed
 * by that union: a router type without its module fails the type check.
 */
import { kubernetesRouterOf, type KubernetesRouter, type KubernetesRouterType } from '../../../config/routers';
import type { Cluster } from '../../platforms/kubernetes/client';
import type { ClusterRouter } from './clusterRouter';
import { httpRouteRouter } from './httpRoute';
import { serviceSelectorRouter } from './serviceSelector';
import { virtualServiceRouter } from './virtualService';

type RouterModules = { [T in KubernetesRouterType]: (c: Cluster, config: Extract<KubernetesRouter, { type: T }>) => ClusterRouter };

const ROUTERS: RouterModules = {
  service: (c) => serviceSelectorRouter(c),
  httpRoute: httpRouteRouter,
  virtualService: virtualServiceRouter,
};

/** The router of the target a Cluster is for. */
export function clusterRouter(c: Cluster): ClusterRouter {
  const config = kubernetesRouterOf(c.placement);
  return (ROUTERS[config.type] as (c: Cluster, config: KubernetesRouter) => ClusterRouter)(c, config);
}
