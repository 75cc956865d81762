/**
 * The traffic router of a target on Kubernetes, as its configuration names
 * it (`kubernetes.router`): what moves traffic between its releases, one
 * module each in src/activities/routers/kubernetes/. Without one, the older
 * `kubernetes.httpRoute` names a Gateway API HTTPRoute, and with neither the
 * target's Service selector switches, as before routers were named.
 */
import { Type, type Static } from '@sinclair/typebox';

const Name = Type.String({ minLength: 1, pattern: '^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$', description: "a Kubernetes object's name (lowercase letters, digits, '-' and '.')" });

export const ServiceRouter = Type.Object(
  { type: Type.Literal('service', { description: "the Service's selector: all traffic to one release at a time (traffic all-at-once)" }) },
  { additionalProperties: false },
);

export const HttpRouteRouter = Type.Object(
  {
    type: Type.Literal('httpRoute', { description: "a Gateway API HTTPRoute's backendRef weights (gateway.networking.k8s.io/v1)" }),
    /** The HTTPRoute in the target's namespace; every rule's backendRefs become one Service per release. */
    name: Name,
  },
  { additionalProperties: false },
);

export const VirtualServiceRouter = Type.Object(
  {
    type: Type.Literal('virtualService', { description: "an Istio VirtualService's destination weights (networking.istio.io/v1)" }),
    /** The VirtualService in the target's namespace; its routes' destinations become one Service per release. */
    name: Name,
    /** The names of its http routes to weight; absent: every http route. Its tcp routes are always weighted. */
    routes: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true })),
  },
  { additionalProperties: false },
);

export type ServiceRouter = Static<typeof ServiceRouter>;
export type HttpRouteRouter = Static<typeof HttpRouteRouter>;
export type VirtualServiceRouter = Static<typeof VirtualServiceRouter>;

export const KubernetesRouter = Type.Union([ServiceRouter, HttpRouteRouter, VirtualServiceRouter]);
export type KubernetesRouter = Static<typeof KubernetesRouter>;
export type KubernetesRouterType = KubernetesRouter['type'];

/** The router a placement names, or its older httpRoute, or the Service selector. */
export function kubernetesRouterOf(p: { router?: KubernetesRouter; httpRoute?: string }): KubernetesRouter {
  return p.router ?? (p.httpRoute ? { type: 'httpRoute', name: p.httpRoute } : { type: 'service' });
}
