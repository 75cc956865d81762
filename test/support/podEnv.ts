/** What a kubelet hands a container: its environment, a secretKeyRef read from its Secret; Kong's database settings from it. */
import type { CoreV1Api, V1EnvVar } from '@kubernetes/client-node';
import type { KongDatabase } from '../../src/sandbox/kong/launcher';

export async function containerEnv(core: CoreV1Api, namespace: string, vars: V1EnvVar[]): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const v of vars) {
    const ref = v.valueFrom?.secretKeyRef;
    if (!ref) {
      env[v.name] = v.value ?? '';
      continue;
    }
    const secret = await core.readNamespacedSecret({ name: ref.name!, namespace });
    const data = secret.data?.[ref.key];
    if (data === undefined) throw new Error(`secret ${ref.name} has no key ${ref.key}`);
    env[v.name] = Buffer.from(data, 'base64').toString('utf8');
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
});

/** A Kong image's tag is its version. */
export const imageVersion = (image: string): string => image.slice(image.lastIndexOf(':') + 1);
