/** Shared by the sandbox tests: cluster directories, MQTT clients that are always ended, and cutover's EMQX activities. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createEmqxActivities, type EmqxActivities } from '../../src/activities/emqx';
import { targetLookup } from '../../src/config/targets';
import { projectRoot } from '../../src/runtime/binaries';
import type { SandboxCluster } from '../../src/sandbox/emqx/launcher';

export { exec } from './activityHarness';

export const TARGET = 'sandbox-emqx';

export const clusterDir = (what: string): string => join(projectRoot, '.data', 'test', 'sandbox', `${what}-${randomUUID().slice(0, 8)}`);

const opened: MqttClient[] = [];

/** Connects once (no retry: the sandbox answers every CONNECT); ended by endClients. */
export async function connect(url: string, opts: IClientOptions): Promise<MqttClient> {
  try {
    const c = await mqtt.connectAsync(url, { protocolVersion: 4, connectTimeout: 5000, ...opts, reconnectPeriod: 0 });
    opened.push(c);
    return c;
  } catch (err) {
    throw new Error(`${opts.clientId ?? 'client'} at ${url}: ${(err as Error).message}`, { cause: err });
  }
}

export async function endClients(): Promise<void> {
  await Promise.all(opened.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
}

/** Cutover's EMQX activities, configured for the cluster as the worker would be, through the API of `apiUrl`. */
export function activities(cluster: SandboxCluster, apiUrl: string, secret = cluster.apiSecret): EmqxActivities {
  return createEmqxActivities({
    targets: targetLookup([{ name: TARGET, kind: 'emqx', emqx: { apiUrl, apiKey: { env: 'EMQX_KEY' }, apiSecret: { env: 'EMQX_SECRET' } } }]),
    env: { EMQX_KEY: cluster.apiKey, EMQX_SECRET: secret },
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(100);
  }
}

/** The MQTT servers (port, weight) nginx's workers send new clients to now: from the config they run (its generation answered on /generation); undefined mid-reload. */
export async function routedMqttServers(nginxPrefix: string, statusPort: number): Promise<{ port: number; weight: number }[] | undefined> {
  const conf = readFileSync(join(nginxPrefix, 'nginx.conf'), 'utf8');
  const generation = /Generation (\d+)/.exec(conf)?.[1];
  const live = await fetch(`http://127.0.0.1:${statusPort}/generation`).then(
    (r) => r.text(),
    () => '',
  );
  if (live !== generation) return undefined;
  const block = /upstream emqx_mqtt \{([^}]*)\}/.exec(conf)?.[1] ?? '';
  // nginx's default weight is 1
  return [...block.matchAll(/server 127\.0\.0\.1:(\d+)(?: weight=(\d+))?/g)].map((m) => ({ port: Number(m[1]), weight: Number(m[2] ?? 1) }));
}

/** The MQTT ports nginx's workers send new clients to now, in order; undefined mid-reload. */
export async function routedMqttPorts(nginxPrefix: string, statusPort: number): Promise<number[] | undefined> {
  return (await routedMqttServers(nginxPrefix, statusPort))?.map((s) => s.port).sort((a, b) => a - b);
}
