/**
 * Targets: what cutover may upgrade, and where the worker finds each one's
 * endpoints and credentials. Workflow input names a target only; activities
 * resolve it here, so no secret ever enters workflow history.
 */
import { Type, type Static, type TOptional } from '@sinclair/typebox';
import { KINDS, KIND_MODULES, kindModules, type Kind } from '../domain/kindRegistry';
import { SecretRef } from '../domain/schemas';
import { TargetNotificationsInput } from './notifications';
import { UpgradeOptionsInput } from './options';
import { KubernetesRouter } from './routers';
import { PolicyInput } from './policy';

export { SecretRef };

export const TARGET_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$';

export const KubernetesPlacement = Type.Object(
  {
    namespace: Type.String({ minLength: 1 }),
    /** The blue workload that serves today; green is created beside it. */
    workload: Type.Object(
      { kind: Type.Union([Type.Literal('StatefulSet'), Type.Literal('Deployment')]), name: Type.String({ minLength: 1 }) },
      { additionalProperties: false },
    ),
    /** The Service clients use; with the router `service` (the default) its selector decides which release gets traffic. */
    service: Type.String({ minLength: 1 }),
    /** What moves traffic between the releases (src/config/routers.ts); default: httpRoute's, else the Service selector. */
    router: Type.Optional(KubernetesRouter),
    /**
     * The older way to name a router: a Gateway API HTTPRoute in the
     * namespace, the same as `router: { type: httpRoute, name }`.
     */
    httpRoute: Type.Optional(Type.String({ minLength: 1 })),
    /** Kubeconfig file and context; omitted: in-cluster config, else KUBECONFIG / ~/.kube/config. */
    kubeconfig: Type.Optional(Type.String()),
    context: Type.Optional(Type.String()),
    /** What to do with a retired release's PersistentVolumeClaims. */
    pvcPolicy: Type.Optional(Type.Union([Type.Literal('delete'), Type.Literal('retain')])),
  },
  { additionalProperties: false },
);
export type KubernetesPlacement = Static<typeof KubernetesPlacement>;

/** Each kind's access block, typed, so activities read `target.<kind>` with its own type. */
type KindAccess = { [K in Kind]: TOptional<(typeof KIND_MODULES)[K]['access']> };
const kindAccess = Object.fromEntries(kindModules().map((k) => [k.kind, Type.Optional(k.access)])) as KindAccess;

const Port = Type.Integer({ minimum: 1024, maximum: 65535 });

/**
 * The local sandbox (`npm start`): workloads are processes of the kind's
 * stand-in on this host, the Service is an nginx upstream. Ports are on
 * 127.0.0.1; which ones a kind needs, its module says (localPorts).
 */
export const LocalPlacement = Type.Object(
  {
    /** Names the sandbox's state file and directories under .data/. */
    cluster: Type.String({ pattern: '^[a-z0-9][-a-z0-9]*$', description: 'a name of lowercase letters, digits and dashes' }),
    /** What the sandbox runs on its first start; later starts restore what was recorded. */
    version: Type.String({ minLength: 1 }),
    replicas: Type.Integer({ minimum: 1, maximum: 9, default: 3 }),
    /** The sandbox's loopback ports by name, e.g. emqx: { mqtt, api, status }. */
    ports: Type.Record(Type.String({ pattern: '^[a-z]+$' }), Port),
  },
  { additionalProperties: false },
);
export type LocalPlacement = Static<typeof LocalPlacement>;

export const TargetConfig = Type.Object(
  {
    name: Type.String({ pattern: TARGET_NAME_PATTERN }),
    kind: Type.Union(KINDS.map((k) => Type.Literal(k)), { description: `a kind this worker has a strategy for: ${KINDS.join(', ')}` }),
    description: Type.Optional(Type.String()),
    /** Where the workloads run: a Kubernetes cluster, or the local sandbox (one of the two). */
    kubernetes: Type.Optional(KubernetesPlacement),
    local: Type.Optional(LocalPlacement),
    /** How the worker reaches the kind's own system: the block named after the target's kind. */
    ...kindAccess,
    /** Upgrade options for this target, over the file's defaults; a request's own win within the policy. */
    defaults: Type.Optional(UpgradeOptionsInput),
    /** This target's policy, over the file's. */
    policy: Type.Optional(PolicyInput),
    /** Sinks for this target's upgrades alone, beside the file's. */
    notifications: Type.Optional(TargetNotificationsInput),
  },
  { additionalProperties: false },
);
export type TargetConfig = Static<typeof TargetConfig>;

/** Looks a target up by name; activities get one of these from the worker. */
export type TargetLookup = (name: string) => TargetConfig;

export function targetLookup(targets: TargetConfig[]): TargetLookup {
  const byName = new Map(targets.map((t) => [t.name, t]));
  return (name) => {
    const t = byName.get(name);
    if (!t) throw new Error(`unknown target '${name}': it is not in this worker's configuration`);
    return t;
  };
}

export function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[ref.env];
  if (!value) throw new Error(`secret not set: environment variable ${ref.env} is empty on this worker`);
  return value;
}
