/**
 * The sandbox broker answers every CONNACK first and survives its backplane:
 * a persistent session resumed on another node while messages for it are in
 * flight gets its CONNACK at once, every time; and a node whose Redis pub/sub
 * connection is cut while clients subscribe keeps running and delivering.
 */
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { startSandboxCluster, type SandboxCluster } from '../../../src/sandbox/emqx/launcher';
import { clusterDir, connect, endClients, sleep } from '../../support/emqxSandbox';

let cluster: SandboxCluster;

beforeAll(async () => {
  cluster = await startSandboxCluster({ dir: clusterDir('resilience'), nodes: [{ name: 'emqx@r-0' }, { name: 'emqx@r-1' }, { name: 'emqx@r-2' }] });
});
afterAll(async () => {
  await endClients();
  await cluster?.stop();
});

test('60 resumes of a persistent session, each on the next node right after the last connection broke, with QoS 1 messages in flight: every CONNACK on the first try', async () => {
  const urls = cluster.nodes.map((n) => n.mqttUrl);
  const pub = await connect(urls[0]!, { clientId: 'resume-pub', clean: true });
  let c: MqttClient = await connect(urls[0]!, { clientId: 'resumer', clean: false });
  await c.subscribeAsync('resume/me', { qos: 1 });
  /** Per resume, the first packet the broker wrote: MQTT-3.2.0-1 says CONNACK (a PUBLISH first is what stalled mqtt.js). */
  const firstPackets: string[] = [];
  for (let i = 1; i <= 60; i++) {
    // A broken connection (no DISCONNECT), as an evicted or dropped client's is.
    c.stream.destroy();
    void pub.publishAsync('resume/me', `m${i}`, { qos: 1 });
    // One try only: a CONNACK that never comes fails the test (at the generous timeout: a busy machine is no failure).
    c = mqtt.connect(urls[i % 3]!, { clientId: 'resumer', clean: false, resubscribe: false, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000 });
    const first = new Promise<string>((resolve) => c.once('packetreceive', (p) => resolve(p.cmd)));
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
      c.once('close', () => reject(new Error(`resume ${i}: closed before its CONNACK`)));
    });
    firstPackets.push(await first);
  }
  await c.endAsync();
  expect(firstPackets).toEqual(Array(60).fill('connack'));
}, 120_000);

test('a node whose pub/sub connection to the backplane is cut 30 times while clients subscribe keeps running and delivering', async () => {
  const [a, b] = cluster.nodes;
  const admin = new Redis(cluster.backplane.url);
  try {
    const sub = await connect(a!.mqttUrl, { clientId: 'cut-sub', clean: true });
    let n = 0;
    const subscribing = setInterval(() => void sub.subscribeAsync(`cut/${n++}`).catch(() => undefined), 5);
    for (let k = 0; k < 30; k++) {
      await sleep(30 + Math.random() * 70);
      await admin.client('KILL', 'TYPE', 'pubsub');
    }
    clearInterval(subscribing);
    await sleep(1000);
    expect(a!.process.exitCode).toBeNull();
    await sub.subscribeAsync('cut/after', { qos: 1 });
    const got = new Promise<string>((resolve) => sub.once('message', (_t, p) => resolve(p.toString())));
    const pub = await connect(b!.mqttUrl, { clientId: 'cut-pub', clean: true });
    await pub.publishAsync('cut/after', 'still here', { qos: 1 });
    expect(await got).toBe('still here');
  } finally {
    admin.disconnect();
  }
}, 60_000);
