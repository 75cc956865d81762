/**
 * What an EMQX node does on Kubernetes to name itself and find its cluster,
 * from its pod: the docker image's start script (deploy/docker/docker-entrypoint.sh
 * at e5.10.4: EMQX_NODE__NAME, else EMQX_NAME@EMQX_HOST, EMQX_HOST from the
 * discovery settings or the pod's IP) and ekka's discovery strategies
 * (ekka_cluster_dns, ekka_cluster_k8s, ekka_cluster_static; ekka 0.23):
 *   dns    A records of cluster.dns.name (node@<ip>) or SRV (node@<pod>.<service>.<namespace>.svc.cluster.local)
 *   k8s    the Endpoints of cluster.k8s.service_name, ready addresses only, named by address_type ip|dns|hostname
 *   static cluster.static.seeds
 * Without a discovery setting a node is joined by hand (manual): here, at once.
 */
import type { CoreV1Api, V1EnvVar, V1Pod } from '@kubernetes/client-node';

/** The container's environment as the kubelet resolves it: values with $(VAR) expanded, fieldRefs of name and IP. */
export function podEnv(pod: V1Pod): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (pod.spec?.containers[0]?.env ?? []) as V1EnvVar[]) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    const value = field === 'metadata.name' ? pod.metadata?.name : field === 'status.podIP' ? pod.status?.podIP : e.value?.replace(/\$\((\w+)\)/g, (m, v: string) => env[v] ?? m);
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

/** The node name the start script gives the pod's EMQX; null while it needs the pod's IP and the pod has none. */
export function nodeNameOf(pod: V1Pod): string | null {
  const env = podEnv(pod);
  if (env.EMQX_NODE_NAME || env.EMQX_NODE__NAME) return env.EMQX_NODE_NAME ?? env.EMQX_NODE__NAME!;
  const name = env.EMQX_NAME ?? 'emqx';
  const ip = pod.status?.podIP;
  const ns = env.EMQX_CLUSTER__K8S__NAMESPACE;
  let host: string | undefined = env.EMQX_HOST;
  if (!host) {
    const strategy = env.EMQX_CLUSTER__DISCOVERY_STRATEGY;
    if (strategy === 'dns' && env.EMQX_CLUSTER__DNS__RECORD_TYPE === 'srv' && pod.spec?.subdomain) host = `${pod.metadata!.name}.${env.EMQX_CLUSTER__DNS__NAME}`;
    else if (strategy === 'k8s' && env.EMQX_CLUSTER__K8S__ADDRESS_TYPE === 'dns' && ns) host = ip && `${ip.replace(/\./g, '-')}.${ns}.${env.EMQX_CLUSTER__K8S__SUFFIX ?? 'pod.cluster.local'}`;
    else if (strategy === 'k8s' && env.EMQX_CLUSTER__K8S__ADDRESS_TYPE === 'hostname' && ns && pod.spec?.subdomain) {
      host = `${pod.spec.hostname ?? pod.metadata!.name}.${pod.spec.subdomain}.${ns}.${env.EMQX_CLUSTER__K8S__SUFFIX ?? 'svc.cluster.local'}`;
    } else host = ip;
  }
  return host ? `${name}@${host}` : null;
}

const ready = (p: V1Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const selects = (selector: Record<string, string>, pod: V1Pod): boolean => Object.entries(selector).every(([k, v]) => pod.metadata?.labels?.[k] === v);

/** The seeds a new node finds, by its discovery settings; 'manual' when it has none. */
export async function discover(pod: V1Pod, pods: V1Pod[], core: CoreV1Api, namespace: string): Promise<string[] | 'manual'> {
  const env = podEnv(pod);
  const app = (nodeNameOf(pod) ?? 'emqx@').split('@')[0]!;
  switch (env.EMQX_CLUSTER__DISCOVERY_STRATEGY) {
    case 'static':
      return (env.EMQX_CLUSTER__STATIC__SEEDS ?? '')
        .replace(/[[\]"\s]/g, '')
        .split(',')
        .filter(Boolean);
    case 'dns': {
      // <service>.<namespace>.svc.cluster.local of a headless Service: its pods' records
      const [svcName, svcNs] = (env.EMQX_CLUSTER__DNS__NAME ?? '').split('.');
      const svc = await core.readNamespacedService({ name: svcName!, namespace: svcNs ?? namespace }).catch(() => undefined);
      if (!svc || svc.spec?.clusterIP !== 'None') return [];
      const listed = pods.filter((p) => p.status?.podIP && selects(svc.spec?.selector ?? {}, p) && (svc.spec?.publishNotReadyAddresses || ready(p)));
      if (env.EMQX_CLUSTER__DNS__RECORD_TYPE === 'srv') {
        return listed.filter((p) => p.spec?.subdomain === svcName).map((p) => `${app}@${p.spec?.hostname ?? p.metadata!.name}.${svcName}.${svcNs}.svc.cluster.local`);
      }
      return listed.map((p) => `${app}@${p.status!.podIP}`);
    }
    case 'k8s': {
      const service = env.EMQX_CLUSTER__K8S__SERVICE_NAME ?? '';
      const ns = env.EMQX_CLUSTER__K8S__NAMESPACE ?? 'default';
      const endpoints = await core.readNamespacedEndpoints({ name: service, namespace: ns }).catch(() => undefined);
      const addresses = (endpoints?.subsets ?? []).flatMap((s) => s.addresses ?? []);
      const type = env.EMQX_CLUSTER__K8S__ADDRESS_TYPE ?? 'ip';
      const suffix = env.EMQX_CLUSTER__K8S__SUFFIX ?? '';
      return addresses.map((a) =>
        type === 'hostname' && suffix
          ? `${app}@${a.hostname}.${service}.${ns}.${suffix}`
          : type === 'dns' && suffix
            ? `${app}@${a.ip.replace(/\./g, '-')}.${ns}.${suffix}`
            : `${app}@${type === 'hostname' ? a.hostname : a.ip}`,
      );
    }
    default:
      return 'manual';
  }
}
