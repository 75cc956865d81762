/**
 * Targets: what cutover may upgrade, and where the worker finds each one's
 * endpoints and credentials. Workflow input names a target only; activities
 * resolve it here, so no secret ever enters workflow history.
 */
import { Type, type Static } from '@sinclair/typebox';
import { KINDS } from '../domain/upgrade';

export const TARGET_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$';

/** A secret is never written in the config file: it names an environment variable of the worker. */
export const SecretRef = Type.Object(
  { env: Type.String({ minLength: 1, description: 'environment variable that holds the secret' }) },
  { additionalProperties: false },
);
export type SecretRef = Static<typeof SecretRef>;

export const KubernetesPlacement = Type.Object(
  {
    namespace: Type.String({ minLength: 1 }),
    /** The blue workload that serves today; green is created beside it. */
    workload: Type.Object(
      { kind: Type.Union([Type.Literal('StatefulSet'), Type.Literal('Deployment')]), name: Type.String({ minLength: 1 }) },
      { additionalProperties: false },
    ),
    /** The Service whose selector decides which release gets traffic. */
    service: Type.String({ minLength: 1 }),
    /** Kubeconfig file and context; omitted: in-cluster config, else KUBECONFIG / ~/.kube/config. */
    kubeconfig: Type.Optional(Type.String()),
    context: Type.Optional(Type.String()),
    /** What to do with a retired release's PersistentVolumeClaims. */
    pvcPolicy: Type.Optional(Type.Union([Type.Literal('delete'), Type.Literal('retain')])),
  },
  { additionalProperties: false },
);
export type KubernetesPlacement = Static<typeof KubernetesPlacement>;

const Port = Type.Integer({ minimum: 1024, maximum: 65535 });

/**
 * The local sandbox (`npm start`): workloads are sandbox EMQX node processes on
 * this host, the Service is an nginx upstream. Ports are on 127.0.0.1.
 */
export const LocalPlacement = Type.Object(
  {
    /** Names the sandbox's state file and directories under .data/. */
    cluster: Type.String({ pattern: '^[a-z0-9][-a-z0-9]*$' }),
    /** What the sandbox runs on its first start; later starts restore what was recorded. */
    version: Type.String({ minLength: 1, default: '5.7.0' }),
    replicas: Type.Integer({ minimum: 1, maximum: 9, default: 3 }),
    nginx: Type.Object(
      {
        /** MQTT clients connect here (stream upstream of the serving release). */
        mqttPort: Port,
        /** EMQX REST API of any running node (http upstream): what emqx.apiUrl should name. */
        apiPort: Port,
        /** nginx stub_status at /status. */
        statusPort: Port,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type LocalPlacement = Static<typeof LocalPlacement>;

export const EmqxAccess = Type.Object(
  {
    /** Base URL of the EMQX dashboard listener, e.g. http://emqx-dashboard.mqtt:18083 */
    apiUrl: Type.String({ pattern: '^https?://' }),
    apiKey: SecretRef,
    apiSecret: SecretRef,
    /** How a pod's EMQX node is named; {pod} and {namespace} are filled in. */
    nodeName: Type.Optional(Type.String({ pattern: '^[^@\\s]+@.*\\{pod\\}.*$', default: 'emqx@{pod}' })),
  },
  { additionalProperties: false },
);
export type EmqxAccess = Static<typeof EmqxAccess>;

export const TargetConfig = Type.Object(
  {
    name: Type.String({ pattern: TARGET_NAME_PATTERN }),
    kind: Type.Union(KINDS.map((k) => Type.Literal(k))),
    description: Type.Optional(Type.String()),
    /** Where the workloads run: a Kubernetes cluster, or the local sandbox (one of the two). */
    kubernetes: Type.Optional(KubernetesPlacement),
    local: Type.Optional(LocalPlacement),
    emqx: Type.Optional(EmqxAccess),
    /** Strategy settings used when a request does not give its own. */
    defaults: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
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
