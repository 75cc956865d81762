/** Shared by the sandbox tests: cluster directories, MQTT clients that are always ended, and cutover's EMQX activities. */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createEmqxActivities, type EmqxActivities } from '../../src/activities/emqx';
import { targetLookup } from '../../src/config/targets';
import { projectRoot } from '../../src/runtime/binaries';
import type { SandboxCluster } from '../../src/sandbox/emqx/launcher';
import type { LocalSandbox } from '../../src/sandbox/localSandbox';

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

/** The MQTT servers (port, weight) nginx's workers send new clients to now: the router's block in the config they run (its generation answered on /generation). */
export async function routedMqttServers(sandbox: LocalSandbox): Promise<{ port: number; weight: number }[] | undefined> {
  const block = (await sandbox.nginx.servedOwned('emqx_mqtt'))?.text;
  // nginx's default weight is 1
  return block === undefined ? undefined : [...block.matchAll(/server 127\.0\.0\.1:(\d+)(?: weight=(\d+))?/g)].map((m) => ({ port: Number(m[1]), weight: Number(m[2] ?? 1) }));
}

/** The MQTT ports nginx's workers send new clients to now, in order. */
export async function routedMqttPorts(sandbox: LocalSandbox): Promise<number[] | undefined> {
  return (await routedMqttServers(sandbox))?.map((s) => s.port).sort((a, b) => a - b);
}
