/**
 * The local platform: cutover's platform activities on sandbox EMQX node
 * processes with nginx as the Service: idempotent, one node at a time, state
 * kept across a restart of the driver; nginx's config passes `nginx -t` and a
 * switch reloads it gracefully.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createPlatformActivities } from '../../../src/activities/platforms';
import { targetLookup, type TargetConfig } from '../../../src/config/targets';
import { releaseName } from '../../../src/domain/upgrade';
import { freePort } from '../../../src/runtime/freePort';
import { SANDBOX_API_KEY, SANDBOX_API_SECRET } from '../../../src/sandbox/emqx/launcher';
import { emqxSandbox } from '../../../src/sandbox/emqx/sandbox';
import { LocalSandbox } from '../../../src/sandbox/localSandbox';
import { fetchOnNewConnection } from '../../../src/runtime/newConnection';
import { clusterDir, connect, endClients, eventually, exec } from '../../support/emqxSandbox';

const TARGET = 'sandbox-emqx';
const BLUE = releaseName(TARGET, '5.7.0');
const GREEN = releaseName(TARGET, '5.8.0');
const AUTH = `Basic ${Buffer.from(`${SANDBOX_API_KEY}:${SANDBOX_API_SECRET}`).toString('base64')}`;

let dataDir: string;
let target: TargetConfig;
let sandbox: LocalSandbox;
const started: LocalSandbox[] = [];

function newSandbox(): LocalSandbox {
  const kind = emqxSandbox({ placement: target.local!, access: target.emqx!, env: {} });
  const s = new LocalSandbox({ target: TARGET, placement: target.local!, dataDir, kind });
  started.push(s);
  return s;
}

const platform = (s: LocalSandbox) => createPlatformActivities({ targets: targetLookup([target]), sandboxes: new Map([[TARGET, s]]), pollMs: 100 });

async function liveByNode(): Promise<Record<string, number>> {
  const r = await fetchOnNewConnection(`http://127.0.0.1:${target.local!.ports.api}/api/v5/nodes`, { headers: { authorization: AUTH } });
  const nodes = (await r.json()) as { node: string; node_status: string; live_connections?: number }[];
  return Object.fromEntries(nodes.filter((n) => n.node_status === 'running').map((n) => [n.node, n.live_connections ?? 0]));
}

const sum = (counts: Record<string, number>, release: string): number =>
  Object.entries(counts)
    .filter(([node]) => node.startsWith(`emqx@${release}-`))
    .reduce((s, [, n]) => s + n, 0);

beforeAll(async () => {
  dataDir = clusterDir('local-platform');
  target = {
    name: TARGET,
    kind: 'emqx',
    local: { cluster: 'test', version: '5.7.0', replicas: 3, ports: { mqtt: await freePort(), api: await freePort(), status: await freePort() } },
    emqx: { apiUrl: 'http://127.0.0.1:1', apiKey: { env: 'KEY' }, apiSecret: { env: 'SECRET' } },
  };
  sandbox = newSandbox();
  await sandbox.start();
}, 60_000);

afterEach(() => endClients());
afterAll(async () => {
  for (const s of started) await s.stop();
});

test('the first start runs the configured release behind nginx, whose config passes nginx -t and serves stub_status', async () => {
  const a = platform(sandbox);
  expect(await exec(a.readBlueRelease, { target: TARGET })).toEqual({ name: BLUE, version: '5.7.0', image: 'cutover/sandbox-emqx:5.7.0', replicas: 3 });
  expect(await exec(a.listReleasePods, { target: TARGET, release: BLUE })).toEqual(
    [0, 1, 2].map((i) => ({ name: `${BLUE}-${i}`, ready: true, ip: '127.0.0.1' })),
  );
  expect(await sandbox.nginx.test()).toMatch(/syntax is ok[\s\S]*test is successful/);
  const status = await (await fetch(sandbox.statusUrl)).text();
  expect(status).toMatch(/^Active connections: \d+/);
  expect(Object.keys(await liveByNode()).sort()).toEqual([0, 1, 2].map((i) => `emqx@${BLUE}-${i}`));
});

test('green is created once, waited for, switched to with a graceful reload, scaled down one node at a time', async () => {
  const a = platform(sandbox);
  const green = { name: GREEN, version: '5.8.0' };
  expect(await exec(a.ensureGreenWorkload, { target: TARGET, green, replicas: 3 })).toEqual({ created: true, image: 'cutover/sandbox-emqx:5.8.0' });
  expect(await exec(a.ensureGreenWorkload, { target: TARGET, green, replicas: 3 })).toEqual({ created: false, image: 'cutover/sandbox-emqx:5.8.0' });
  expect(await exec(a.waitWorkloadReady, { target: TARGET, release: GREEN })).toEqual({ release: GREEN, ready: 3, desired: 3 });
  expect(Object.keys(await liveByNode())).toHaveLength(6);

  // An MQTT client on blue through nginx, subscribed; then the switch.
  const mqttUrl = `mqtt://127.0.0.1:${target.local!.ports.mqtt}`;
  const old = await connect(mqttUrl, { clientId: 'old', clean: false });
  await old.subscribeAsync('t/old', { qos: 1 });
  expect(sum(await eventually(liveByNode, (c) => sum(c, BLUE) === 1), BLUE)).toBe(1);
  // verified by what nginx's workers run, read back from nginx
  const served = { served: { [GREEN]: 100 }, readiness: expect.stringMatching(/^the sandbox's nginx \(prefix .*\)'s workers run config generation \d+$/) };
  expect(await exec(a.setWeights, { target: TARGET, weights: { [GREEN]: 100, [BLUE]: 0 } })).toEqual({ changed: true, ...served });
  expect(await exec(a.setWeights, { target: TARGET, weights: { [GREEN]: 100 } })).toEqual({ changed: false, ...served });
  // the router's own include file, nothing else of the config, holds the upstream
  const conf = readFileSync(join(dataDir, 'nginx', 'test', 'nginx.conf'), 'utf8');
  const owned = readFileSync(join(dataDir, 'nginx', 'test', 'routes', 'emqx_mqtt.conf'), 'utf8');
  expect(conf).toContain(`include ${join(dataDir, 'nginx', 'test', 'routes', 'emqx_mqtt.conf')};`);
  expect(conf).not.toContain('upstream emqx_mqtt');
  const state = JSON.parse(readFileSync(join(dataDir, 'sandbox', 'test', 'state.json'), 'utf8'));
  expect(state.service).toBe(GREEN);
  expect(owned).toMatch(/^# Owned by cutover \(target 'sandbox-emqx'\)/);
  for (const p of state.releases[GREEN].ports) expect(owned).toContain(`server 127.0.0.1:${p.mqtt} weight=100; # release ${GREEN}`);
  for (const p of state.releases[BLUE].ports) expect(owned).not.toContain(`server 127.0.0.1:${p.mqtt} `);

  // New connections go to green; the open one stayed on blue and still works both ways.
  const fresh = await Promise.all([1, 2, 3].map((i) => connect(mqttUrl, { clientId: `new-${i}`, clean: true })));
  const counts = await eventually(liveByNode, (c) => sum(c, GREEN) === 3);
  expect(sum(counts, BLUE)).toBe(1);
  expect(old.connected).toBe(true);
  const got = new Promise<string>((r) => old.once('message', (_t, p) => r(p.toString())));
  await fresh[0]!.publishAsync('t/old', 'after the reload', { qos: 1 });
  expect(await got).toBe('after the reload');

  // scaleDownByOne: the highest ordinal goes, and a retry does not remove a second node.
  expect(await exec(a.scaleDownByOne, { target: TARGET, release: BLUE, expectedReplicas: 3 })).toEqual({ replicas: 2, changed: true });
  expect(await exec(a.scaleDownByOne, { target: TARGET, release: BLUE, expectedReplicas: 3 })).toEqual({ replicas: 2, changed: false });
  expect((await exec(a.listReleasePods, { target: TARGET, release: BLUE })).map((p) => p.name)).toEqual([`${BLUE}-0`, `${BLUE}-1`]);
  await expect(exec(a.scaleDownByOne, { target: TARGET, release: BLUE, expectedReplicas: 1 })).rejects.toMatchObject({ type: 'Invalid', nonRetryable: true });
  expect(await exec(a.scaleWorkload, { target: TARGET, release: BLUE, replicas: 2 })).toEqual({ changed: false });
});

test('a restarted driver brings back the recorded releases, replicas and route; deleting is idempotent and spares the serving release', async () => {
  await sandbox.stop();
  sandbox = newSandbox();
  await sandbox.start();
  const a = platform(sandbox);
  expect(await exec(a.readBlueRelease, { target: TARGET })).toMatchObject({ name: GREEN, version: '5.8.0', replicas: 3 });
  expect((await exec(a.listReleasePods, { target: TARGET, release: BLUE })).map((p) => p.ready)).toEqual([true, true]);
  expect(Object.keys(await liveByNode())).toHaveLength(5);
  const c = await connect(`mqtt://127.0.0.1:${target.local!.ports.mqtt}`, { clientId: 'after-restart', clean: true });
  expect(c.connected).toBe(true);
  expect(sum(await eventually(liveByNode, (n) => sum(n, GREEN) === 1), GREEN)).toBe(1);

  await expect(exec(a.deleteWorkload, { target: TARGET, release: GREEN })).rejects.toMatchObject({ type: 'Invalid', nonRetryable: true });
  expect(await exec(a.deleteWorkload, { target: TARGET, release: BLUE })).toEqual({ deleted: true });
  expect(await exec(a.deleteWorkload, { target: TARGET, release: BLUE })).toEqual({ deleted: false });
  await expect(exec(a.listReleasePods, { target: TARGET, release: BLUE })).rejects.toBeInstanceOf(ApplicationFailure);
  expect(Object.keys(await liveByNode()).sort()).toEqual([0, 1, 2].map((i) => `emqx@${GREEN}-${i}`));
});

test('a target this worker runs no sandbox for is misconfigured, not retried', async () => {
  const a = createPlatformActivities({ targets: targetLookup([target]), sandboxes: new Map() });
  await expect(exec(a.readBlueRelease, { target: TARGET })).rejects.toMatchObject({ type: 'Misconfigured', nonRetryable: true });
  await expect(exec(a.setWeights, { target: TARGET, weights: { [GREEN]: 100 } })).rejects.toMatchObject({ type: 'Misconfigured', nonRetryable: true });
});
