/**
 * What a kubelet hands a container: its environment, from envFrom (a
 * ConfigMap's or Secret's keys, with the prefix) and then env (which wins),
 * references read from their ConfigMap or Secret; Kong's database settings
 * from it.
 */
import type { CoreV1Api, V1Container } from '@kubernetes/client-node';
import type { KongDatabase } from '../../src/sandbox/kong/launcher';

export async function containerEnv(core: CoreV1Api, namespace: string, container: Pick<V1Container, 'env' | 'envFrom'>): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const configMap = async (name: string) => (await core.readNamespacedConfigMap({ name, namespace })).data ?? {};
  const secret = async (name: string) =>
    Object.fromEntries(Object.entries((await core.readNamespacedSecret({ name, namespace })).data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  for (const from of container.envFrom ?? []) {
    const data = from.configMapRef ? await configMap(from.configMapRef.name!) : from.secretRef ? await secret(from.secretRef.name!) : {};
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const v of container.env ?? []) {
    const ref = v.valueFrom?.secretKeyRef ?? v.valueFrom?.configMapKeyRef;
    if (!ref) {
      env[v.name] = v.value ?? '';
      continue;
    }
    const data = v.valueFrom?.secretKeyRef ? await secret(ref.name!) : await configMap(ref.name!);
    if (data[ref.key] === undefined) throw new Error(`${v.valueFrom?.secretKeyRef ? 'secret' : 'configmap'} ${ref.name} has no key ${ref.key}`);
    env[v.name] = data[ref.key]!;
  }
  return env;
}

/** Kong's KONG_PG_* settings, with Kong's defaults for port and database. */
export const kongDatabaseOf = (env: Record<string, string>): KongDatabase => ({
  host: env.KONG_PG_HOST,
  port: Number(env.KONG_PG_PORT ?? 5432),
  user: env.KONG_PG_USER,
  password: env.KONG_PG_PASSWORD,
  database: env.KONG_PG_DATABASE ?? 'kong',
  ...(env.KONG_PG_SCHEMA ? { schema: env.KONG_PG_SCHEMA } : {}),
});

/** A Kong image's tag is its version. */
export const imageVersion = (image: string): string => image.slice(image.lastIndexOf(':') + 1);
