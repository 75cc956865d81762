/**
 * MQTT load with accounting: N clients with persistent sessions (clean=false,
 * fixed ids) and auto-reconnect, each subscribed at QoS 1 to its own topic;
 * QoS 1 publishes at a total rate, each to the next client's topic so that
 * messages cross nodes. Every message carries an id, so after the run drains
 * the tool knows which were never received (lost) and which arrived twice
 * (duplicated, which QoS 1 allows).
 *
 * Connected clients per node come from the nodes' REST API (GET /api/v5/nodes,
 * live_connections): EMQX's own view, the one its dashboard and the operator
 * use; MQTT 3.1.1 has no way for a broker to tell a client which node it is on.
 * The total is the clients' own view (connected right now), which is what
 * "no client noticed" is about.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { fetchOnNewConnection } from '../../runtime/newConnection';

export interface LoadOptions {
  clients: number;
  /** QoS 1 publishes per second, over all clients. */
  rate: number;
  /** Broker URLs on loopback; clients start on the first and move on down the list at each reconnect. */
  urls: string[];
  durationSec: number;
  /** Ends publishing early (then the run drains as usual): for a caller that publishes until something else is done. */
  stop?: AbortSignal;
  /** Sampling period. Default 1000 ms. */
  sampleMs?: number;
  /** Seconds to wait after the last publish for messages still under way. Default 10. */
  drainSec?: number;
  /** Where per-node counts come from: REST API base URLs (the first that answers is used). */
  apiUrls?: string[];
  apiKey?: string;
  apiSecret?: string;
  /** Client ids are `${prefix}-${i}`; sessions of the same ids are taken over. Default "load". */
  clientPrefix?: string;
  reconnectPeriodMs?: number;
  /** How long all clients may take to connect and subscribe at the start. Default 30 s. */
  connectTimeoutSec?: number;
  onSample?: (s: LoadSample) => void;
}

export interface LoadSample {
  /** Seconds since publishing began (to the tenth with a sub-second sampling period). */
  t: number;
  /** Clients connected now, by their own account. */
  connected: number;
  /** live_connections per running node, from the API; null when no API answered. */
  nodes: Record<string, number> | null;
  sent: number;
  /** Publishes the broker acknowledged (PUBACK). */
  acked: number;
  /** Distinct messages received. */
  received: number;
  duplicated: number;
  /** Of the messages sent up to this second, how many were never received (known once the run drained). */
  lost: number;
}

export interface LoadSummary {
  durationSec: number;
  clients: number;
  rate: number;
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  minConnected: number;
  minConnectedRatio: number;
  /** The longest a client was disconnected, from losing its connection to its next CONNACK (ms). */
  maxAwayMs: number;
  /** Outages longer than 2 s, across all clients. */
  awayOver2s: number;
  /** Times a client lost its connection and got it back. */
  reconnects: number;
  /** Clients connected when the run ended. */
  connectedAtEnd: number;
  /** Publish rate achieved while publishing. */
  sentPerSec: number;
  drainedInSec: number;
}

export interface LoadResult {
  samples: LoadSample[];
  summary: LoadSummary;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** This tool only ever talks to this machine. */
export function assertLoopback(url: string): URL {
  const u = new URL(url);
  if (!LOOPBACK.has(u.hostname)) throw new Error(`${url}: the load tool only talks to 127.0.0.1 (or localhost)`);
  return u;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const topicOf = (id: string): string => `cutover-load/${id}`;

async function nodeCounts(o: LoadOptions): Promise<Record<string, number> | null> {
  const authorization = `Basic ${Buffer.from(`${o.apiKey ?? ''}:${o.apiSecret ?? ''}`).toString('base64')}`;
  for (const base of o.apiUrls ?? []) {
    try {
      // A connection per sample: one kept alive across nginx's reloads can be closed just as a sample crosses it.
      const r = await fetchOnNewConnection(`${base.replace(/\/+$/, '')}/api/v5/nodes`, { headers: { authorization }, timeoutMs: 2000 });
      if (r.status !== 200) continue;
      const nodes = (await r.json()) as { node: string; node_status: string; live_connections?: number }[];
      return Object.fromEntries(nodes.filter((n) => n.node_status === 'running').map((n) => [n.node, n.live_connections ?? 0]));
    } catch {
      // That node is down or evacuated away: ask the next.
    }
  }
  return null;
}

export async function runMqttLoad(o: LoadOptions): Promise<LoadResult> {
  if (!(o.clients >= 1) || !(o.rate > 0) || !(o.durationSec > 0)) throw new Error('clients, rate and duration must be positive');
  const urls = o.urls.map(assertLoopback);
  for (const a of o.apiUrls ?? []) assertLoopback(a);
  const prefix = o.clientPrefix ?? 'load';
  const ids = Array.from({ length: o.clients }, (_, i) => `${prefix}-${i}`);

  const run = randomUUID().slice(0, 8);
  const received = new Set<number>();
  const sentAt: number[] = []; // id -> second it was sent in
  let duplicated = 0;
  let acked = 0;

  const options = (clientId: string): IClientOptions => ({
    clientId,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: o.reconnectPeriodMs ?? 500,
    connectTimeout: 5000,
    ...(urls.length > 1 ? { servers: urls.map((u) => ({ host: u.hostname, port: Number(u.port || 1883) })) } : {}),
  });
  // Per client, when it lost its connection; each outage's length once it is back.
  const lostAt = new Map<string, number>();
  const outages: number[] = [];
  const clients: MqttClient[] = ids.map((id) => {
    const c = urls.length > 1 ? mqtt.connect(options(id)) : mqtt.connect(urls[0]!.href, options(id));
    c.on('close', () => {
      if (!lostAt.has(id)) lostAt.set(id, Date.now());
    });
    c.on('connect', () => {
      const since = lostAt.get(id);
      lostAt.delete(id);
      if (since !== undefined) outages.push(Date.now() - since);
    });
    c.on('message', (_topic, payload) => {
      const [tag, seq] = payload.toString().split('/');
      // Left in a session by an earlier run with the same client ids: not this run's to count.
      if (tag !== run) return;
      const n = Number(seq);
      if (received.has(n)) duplicated++;
      else received.add(n);
    });
    return c;
  });
  const closeAll = (): Promise<unknown> => Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));

  try {
    const deadline = Date.now() + (o.connectTimeoutSec ?? 30) * 1000;
    await Promise.all(
      clients.map(async (c, i) => {
        while (!c.connected) {
          if (Date.now() > deadline) throw new Error(`client ${ids[i]} did not connect to ${urls[0]!.href} in time`);
          await sleep(50);
        }
        await c.subscribeAsync(topicOf(ids[i]!), { qos: 1 });
      }),
    );

    const samples: LoadSample[] = [];
    const start = Date.now();
    let sampling = Promise.resolve();
    const sample = async (): Promise<void> => {
      const s: LoadSample = {
        t: Math.round((Date.now() - start) / 100) / 10,
        connected: clients.filter((c) => c.connected).length,
        nodes: await nodeCounts(o),
        sent: sentAt.length,
        acked,
        received: received.size,
        duplicated,
        lost: 0,
      };
      samples.push(s);
      o.onSample?.(s);
    };
    const sampler = setInterval(() => (sampling = sampling.then(sample)), o.sampleMs ?? 1000);

    // Catch up with the schedule at each wake-up, so the total rate holds whatever the timer jitter.
    const end = start + o.durationSec * 1000;
    while (Date.now() < end && !o.stop?.aborted) {
      const due = Math.floor(((Date.now() - start) / 1000) * o.rate);
      while (sentAt.length < due) {
        const from = sentAt.length % clients.length;
        const n = sentAt.length;
        sentAt.push(Math.floor((Date.now() - start) / 1000));
        clients[from]!.publish(topicOf(ids[(from + 1) % ids.length]!), `${run}/${n}`, { qos: 1 }, (err) => {
          if (!err) acked++;
        });
      }
      await sleep(Math.min(100, 1000 / o.rate));
    }
    const publishedFor = (Date.now() - start) / 1000;
    const drainEnd = Date.now() + (o.drainSec ?? 10) * 1000;
    while (received.size < sentAt.length && Date.now() < drainEnd) await sleep(100);
    const drainedInSec = (Date.now() - start) / 1000 - publishedFor;
    clearInterval(sampler);
    await sampling;
    // And the state at the end: on a busy machine the timer's last tick can come after the run.
    await sample();

    const lostPerSecond = new Map<number, number>();
    sentAt.forEach((sec, id) => {
      if (!received.has(id)) lostPerSecond.set(sec, (lostPerSecond.get(sec) ?? 0) + 1);
    });
    for (const s of samples) s.lost = [...lostPerSecond].filter(([sec]) => sec < s.t).reduce((sum, [, n]) => sum + n, 0);
    const minConnected = Math.min(...samples.map((s) => s.connected), clients.length);
    // Still away at the end: counted up to now.
    const away = [...outages, ...[...lostAt.values()].map((t) => Date.now() - t)];
    return {
      samples,
      summary: {
        durationSec: Math.round(publishedFor * 10) / 10,
        clients: clients.length,
        rate: o.rate,
        sent: sentAt.length,
        received: received.size,
        lost: sentAt.length - received.size,
        duplicated,
        minConnected,
        minConnectedRatio: minConnected / clients.length,
        maxAwayMs: Math.max(0, ...away),
        awayOver2s: away.filter((ms) => ms > 2000).length,
        reconnects: outages.length,
        connectedAtEnd: clients.filter((c) => c.connected).length,
        sentPerSec: Math.round((sentAt.length / publishedFor) * 10) / 10,
        drainedInSec: Math.round(drainedInSec * 10) / 10,
      },
    };
  } finally {
    await closeAll();
  }
}
