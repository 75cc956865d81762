/**
 * Evacuation as EMQX does it, under load: ~100 persistent clients publishing
 * QoS 1 are on node A; A is evacuated to B and C at a set rate while the load
 * runs. The clients move, no message is lost, the rate holds, and the offline
 * sessions left on A are handed to the recipients.
 */
import { startSandboxCluster, type SandboxCluster } from '../../../src/sandbox/emqx/launcher';
import type { NodeEvacuationStatus } from '../../../src/domain/emqx/cluster';
import { runMqttLoad, type LoadResult } from '../../../src/sandbox/load/mqttLoad';
import { activities, clusterDir, connect, endClients, exec, sleep, TARGET } from '../../support/emqxSandbox';

const [A, B, C] = ['emqx@evac-0', 'emqx@evac-1', 'emqx@evac-2'];
const CLIENTS = 100;
const OFFLINE = 20;
const CONN_RATE = 20;
const SESS_RATE = 5;
let cluster: SandboxCluster;

beforeAll(async () => {
  cluster = await startSandboxCluster({ dir: clusterDir('evacuation'), nodes: [A, B, C].map((name) => ({ name: name! })) });
});
afterAll(async () => {
  await endClients();
  await cluster?.stop();
});

test(`evacuating a node with ${CLIENTS} clients: they move at ${CONN_RATE}/s, sessions follow, no QoS 1 message is lost`, async () => {
  const act = activities(cluster, cluster.node(B!).apiUrl);
  // Persistent sessions whose clients are away: what evicting_sessions hands over.
  for (let i = 0; i < OFFLINE; i++) {
    const c = await connect(cluster.node(A!).mqttUrl, { clientId: `away-${i}`, clean: false });
    await c.subscribeAsync(`away/${i}`, { qos: 1 });
    await c.endAsync();
  }

  // Every load client starts on A; at each reconnect it tries the next URL, as through a load balancer.
  let started = false;
  const seen: { at: number; status: NodeEvacuationStatus }[] = [];
  const load: Promise<LoadResult> = runMqttLoad({
    clients: CLIENTS,
    rate: 50,
    urls: [A, B, C].map((n) => cluster.node(n!).mqttUrl),
    apiUrls: [cluster.node(B!).apiUrl],
    apiKey: cluster.apiKey,
    apiSecret: cluster.apiSecret,
    durationSec: 14,
    drainSec: 10,
    clientPrefix: 'evac',
    onSample: (s) => {
      if (s.t >= 1 && !started) {
        started = true;
        void exec(act.startEvacuation, {
          target: TARGET,
          node: A!,
          connEvictRate: CONN_RATE,
          sessEvictRate: SESS_RATE,
          waitHealthCheckMs: 1000,
          waitTakeoverMs: 2000,
          migrateTo: [B!, C!],
        });
      }
    },
  });
  // The node's own account of its evacuation, sampled as the operator would read it.
  const watch = (async () => {
    for (const deadline = Date.now() + 40_000; Date.now() < deadline; ) {
      const [e] = await exec(act.evacuationStatus, { target: TARGET });
      if (e) seen.push({ at: Date.now(), status: e });
      if (e?.state === 'prohibiting') return;
      await sleep(100);
    }
  })();
  const [result] = await Promise.all([load, watch]);
  const first = (state: string): number => seen.find((s) => s.status.state === state)!.at;
  const last = seen[seen.length - 1]!.status;

  expect(result.summary.lost).toBe(0);
  expect(result.summary.sent).toBeGreaterThan(600);
  expect(last.stats).toEqual({ initial_connected: CLIENTS, current_connected: 0, initial_sessions: CLIENTS + OFFLINE, current_sessions: 0 });
  const connRate = CLIENTS / ((first('waiting_takeover') - first('evicting_conns')) / 1000);
  const sessRate = OFFLINE / ((first('prohibiting') - first('evicting_sessions')) / 1000);
  console.log(`evacuation: connections ${connRate.toFixed(1)}/s (asked ${CONN_RATE}), sessions ${sessRate.toFixed(1)}/s (asked ${SESS_RATE}); ` +
    `lost ${result.summary.lost}, duplicated ${result.summary.duplicated}, min connected ${result.summary.minConnected}/${CLIENTS}`);
  expect(Math.abs(connRate - CONN_RATE) / CONN_RATE).toBeLessThan(0.1);
  expect(Math.abs(sessRate - SESS_RATE) / SESS_RATE).toBeLessThan(0.1);

  // Everyone is on B or C now, and the load's per-node view saw them leave A.
  const end = result.samples[result.samples.length - 1]!;
  expect(end.connected).toBe(CLIENTS);
  expect(end.nodes![A!]).toBe(0);
  expect(end.nodes![B!]! + end.nodes![C!]!).toBe(CLIENTS);
  expect(Math.max(...result.samples.map((s) => s.nodes?.[A!] ?? 0))).toBe(CLIENTS);
  const counts = await exec(act.connectionCounts, { target: TARGET });
  expect(counts.nodes.find((n) => n.node === A)).toMatchObject({ connections: 0, sessions: 0 });
  expect(counts.total.sessions).toBe(CLIENTS + OFFLINE);
});
