/**
 * A 3-node sandbox EMQX cluster, one OS process per node: one broker across
 * nodes, session takeover, and the REST API as cutover's activities use it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { startSandboxCluster, type SandboxCluster } from '../../../src/sandbox/emqx/launcher';
import { activities, clusterDir, connect, endClients, eventually, exec, TARGET } from '../../support/emqxSandbox';

const [A, B, C] = ['emqx@sandbox-0', 'emqx@sandbox-1', 'emqx@sandbox-2'];
let cluster: SandboxCluster;

beforeAll(async () => {
  cluster = await startSandboxCluster({ dir: clusterDir('cluster'), nodes: [A, B, C].map((name) => ({ name: name!, version: '5.7.0' })) });
});
afterEach(endClients);
afterAll(async () => {
  await endClients();
  await cluster?.stop();
});

const url = (node: string): string => cluster.node(node).mqttUrl;

test('a message published on node A reaches a subscriber on node C', async () => {
  const sub = await connect(url(C!), { clientId: 'sub-c', clean: true });
  await sub.subscribeAsync('fan/out', { qos: 1 });
  const got = new Promise<string>((resolve) => sub.once('message', (_t, p) => resolve(p.toString())));
  const pub = await connect(url(A!), { clientId: 'pub-a', clean: true });
  await pub.publishAsync('fan/out', 'from A', { qos: 1 });
  expect(await got).toBe('from A');
  // each node's Prometheus endpoint (EMQX's path, no auth) counts its own side: A received it, C sent it
  const stats = async (node: string) => (await fetch(`${cluster.node(node).apiUrl}/api/v5/prometheus/stats`)).text();
  expect(await stats(A!)).toMatch(/^emqx_messages_received 1$/m);
  expect(await stats(C!)).toMatch(/^emqx_messages_sent 1$/m);
  expect(await stats(C!)).toMatch(/^emqx_messages_received 0$/m);
  expect(await stats(C!)).toMatch(/^emqx_live_connections_count 1$/m);
});

test('a persistent session reconnecting to another node gets its subscriptions and queued QoS 1 messages', async () => {
  const first = await connect(url(A!), { clientId: 'roamer', clean: false });
  await first.subscribeAsync('roam/me', { qos: 1 });
  await first.endAsync();
  // the session is offline once its node has seen the disconnect: what is published before that goes to the closing connection
  await eventually(async () => (await fetch(`${cluster.node(A!).apiUrl}/api/v5/prometheus/stats`)).text(), (t) => /^emqx_live_connections_count 0$/m.test(t));
  const pub = await connect(url(B!), { clientId: 'roam-pub', clean: true });
  for (const m of ['q1', 'q2', 'q3']) await pub.publishAsync('roam/me', m, { qos: 1 });

  const got: string[] = [];
  const resume = { clean: false, resubscribe: false, connectTimeout: 2000 };
  const again = await connect(url(C!), { clientId: 'roamer', ...resume });
  again.on('message', (_t, p) => got.push(p.toString()));
  await pub.publishAsync('roam/me', 'live', { qos: 1 });
  await eventually(async () => got, (g) => new Set(g).size >= 4);
  // aedes replays the queue while live messages flow: 'live' may come first, or twice (QoS 1 is at least once).
  expect([...new Set(got)].sort()).toEqual(['live', 'q1', 'q2', 'q3']);

  // Online takeover: connecting on A closes the client on C; the subscription follows.
  // Ended at once, so its own reconnect does not take the session back.
  const closed = new Promise<void>((r) => again.once('close', () => again.end(true, {}, () => r())));
  const third = await connect(url(A!), { clientId: 'roamer', ...resume });
  await closed;
  // QoS 1 is at least once: what C delivered but the client had not acknowledged comes again before it
  const seen: string[] = [];
  const next = new Promise<void>((resolve) => third.on('message', (_t, p) => (seen.push(p.toString()), p.toString() === 'after takeover' && resolve())));
  await pub.publishAsync('roam/me', 'after takeover', { qos: 1 });
  await next;
  expect(seen.filter((m) => !['q1', 'q2', 'q3', 'live'].includes(m))).toEqual(['after takeover']);
});

describe('REST API', () => {
  const base = (node: string): string => cluster.node(node).apiUrl;
  const auth = (key = cluster.apiKey, secret = cluster.apiSecret): Record<string, string> => ({
    authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`,
  });

  test('Basic auth on everything but availability_check', async () => {
    expect((await fetch(`${base(A!)}/api/v5/nodes`)).status).toBe(401);
    const wrong = await fetch(`${base(A!)}/api/v5/nodes`, { headers: auth(cluster.apiKey, 'nope') });
    expect([wrong.status, await wrong.json()]).toEqual([401, { code: 'BAD_API_KEY_OR_SECRET', message: 'Check api_key/api_secret' }]);
    expect((await fetch(`${base(A!)}/api/v5/load_rebalance/availability_check`)).status).toBe(200);
    const activity = await exec(activities(cluster, base(A!), 'nope').clusterHealth, { target: TARGET, expectNodes: [A!] }).catch((e: unknown) => e);
    expect(activity).toBeInstanceOf(ApplicationFailure);
    expect(activity).toMatchObject({ type: 'Unauthorized', nonRetryable: true });
  });

  test('nodes, node, stats and cluster shapes', async () => {
    const a = await connect(url(A!), { clientId: 'shape-a', clean: false });
    await a.endAsync(); // an offline session: a session, not a live connection
    await connect(url(B!), { clientId: 'shape-b', clean: true });
    const nodes = await eventually(
      async () => (await (await fetch(`${base(C!)}/api/v5/nodes`, { headers: auth() })).json()) as Record<string, unknown>[],
      (ns) => ns.find((n) => n.node === B)?.live_connections === 1,
    );
    expect(nodes.map((n) => n.node)).toEqual([A, B, C]);
    // the whole shape is held to the contract fixtures (test/sandbox/emqx/contractStandIns.test.ts)
    for (const n of nodes) expect(n).toMatchObject({ node_status: 'running', version: '5.7.0', role: 'core', edition: 'Enterprise', uptime: expect.any(Number) });
    const one = (await (await fetch(`${base(C!)}/api/v5/nodes/${encodeURIComponent(B!)}`, { headers: auth() })).json()) as Record<string, unknown>;
    expect(one).toMatchObject({ node: B, live_connections: 1 });
    expect((await fetch(`${base(C!)}/api/v5/nodes/emqx@nowhere`, { headers: auth() })).status).toBe(404);
    // shape-a's disconnect reaches its node a moment after endAsync: then its session stays, its live connection is gone
    const stats = await eventually(
      async () => (await (await fetch(`${base(C!)}/api/v5/stats?aggregate=true`, { headers: auth() })).json()) as Record<string, number>,
      (st) => st['sessions.count']! > st['live_connections.count']!,
    );
    expect(Object.keys(stats).sort()).toEqual(['connections.count', 'live_connections.count', 'sessions.count']);
    expect(await (await fetch(`${base(C!)}/api/v5/cluster`, { headers: auth() })).json()).toEqual({ name: 'sandbox-emqx', nodes: [A, B, C], self: C });
    const counts = await exec(activities(cluster, base(C!)).connectionCounts, { target: TARGET });
    expect(counts.nodes.map((n) => n.node)).toEqual([A, B, C]);
    expect(counts.total.sessions).toBe(stats['sessions.count']);
  });

  test('cutover activities: a 5.8.0 node joins, evacuation starts, stops and is idempotent, a stopped node is forgotten', async () => {
    const act = activities(cluster, base(A!));
    const green = 'emqx@sandbox-green-0';
    const joined = exec(act.waitClusterJoined, { target: TARGET, nodes: [A!, green], pollMs: 100 });
    await cluster.addNode({ name: green, version: '5.8.0' });
    const health = await joined;
    expect(health.healthy).toBe(true);
    expect(health.nodes.find((n) => n.node === green)).toMatchObject({ status: 'running', version: '5.8.0' });

    const evac = { target: TARGET, node: green, connEvictRate: 10, sessEvictRate: 10, waitTakeoverMs: 1000, waitHealthCheckMs: 1000, migrateTo: [B!] };
    expect(await exec(act.startEvacuation, evac)).toEqual({ alreadyStarted: false });
    expect(await exec(act.startEvacuation, evac)).toEqual({ alreadyStarted: true });
    await eventually(async () => (await fetch(`${base(green)}/api/v5/load_rebalance/availability_check`)).status, (s) => s === 503, 30_000);
    const refused = await fetch(`${base(green)}/api/v5/load_rebalance/availability_check`);
    expect([refused.status, await refused.json()]).toEqual([503, { code: 'NODE_EVACUATING', message: 'Node Evacuating' }]);
    // An evacuating node takes no new connections: CONNACK 3, server unavailable.
    await expect(connect(cluster.node(green).mqttUrl, { clientId: 'late', clean: true })).rejects.toThrow(/unavailable/i);
    const done = await exec(act.waitEvacuated, { target: TARGET, node: green, pollMs: 100 });
    expect(done).toMatchObject({ node: green, state: 'prohibiting', connection_eviction_rate: 10, session_eviction_rate: 10, session_recipients: [B] });
    // A node that is evacuating is no recipient.
    const busy = await fetch(`${base(A!)}/api/v5/load_rebalance/${encodeURIComponent(A!)}/evacuation/start`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ migrate_to: [green] }),
    });
    expect([busy.status, await busy.json()]).toEqual([400, { code: 'NOT_FOUND', message: `Nodes unavailable: ['${green}']` }]);
    const bad = await fetch(`${base(A!)}/api/v5/load_rebalance/${encodeURIComponent(A!)}/evacuation/start`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ conn_evict_rate: 0, wait_takeover: '10 parsecs' }),
    });
    expect([bad.status, await bad.json()]).toEqual([400, { code: 'BAD_REQUEST', message: expect.stringContaining('"path":"root.conn_evict_rate"') }]);
    expect(await exec(act.stopEvacuation, { target: TARGET, node: green })).toEqual({ wasEvacuating: true });
    expect(await exec(act.stopEvacuation, { target: TARGET, node: green })).toEqual({ wasEvacuating: false });
    expect(await exec(act.evacuationStatus, { target: TARGET })).toEqual([]);

    await expect(exec(act.forgetNode, { target: TARGET, node: green })).rejects.toMatchObject({ type: 'NodeRunning' });
    await cluster.node(green).stop();
    const listed = await exec(act.clusterHealth, { target: TARGET, expectNodes: [green] });
    expect(listed.nodes[0]).toMatchObject({ member: true, status: 'stopped' });
    expect(await exec(act.forgetNode, { target: TARGET, node: green })).toEqual({ removed: true });
    expect(await exec(act.forgetNode, { target: TARGET, node: green })).toEqual({ removed: false });
    expect((await exec(act.clusterHealth, { target: TARGET, expectNodes: [] })).members).toEqual([A, B, C]);
  });
});
