/** The EMQX activities against the test EMQX, run in Temporal's mock activity context. */
import { createServer } from 'node:net';
import { CancelledFailure } from '@temporalio/common';
import { createEmqxActivities, type EmqxActivities } from '../../../src/activities/emqx';
import { targetLookup } from '../../../src/config/targets';
import type { NodeEvacuationStatus } from '../../../src/domain/emqx/cluster';
import { EmqxApiServer, type EvacuationSample } from '../../support/emqxApiServer';
import { exec, failure, run } from '../../support/activityHarness';

const TARGET = 'mqtt-prod';
const BLUE = ['emqx@emqx-blue-0.h', 'emqx@emqx-blue-1.h', 'emqx@emqx-blue-2.h'];
const GREEN = ['emqx@emqx-green-0.h', 'emqx@emqx-green-1.h', 'emqx@emqx-green-2.h'];

let emqx: EmqxApiServer;
afterEach(() => emqx?.close());

function activitiesFor(apiUrl: string, secret = emqx.apiSecret, fetchFn?: typeof fetch): EmqxActivities {
  return createEmqxActivities({
    targets: targetLookup([{ name: TARGET, kind: 'emqx', emqx: { apiUrl, apiKey: { env: 'EMQX_KEY' }, apiSecret: { env: 'EMQX_SECRET' } } }]),
    env: { EMQX_KEY: emqx.apiKey, EMQX_SECRET: secret },
    fetch: fetchFn,
  });
}


const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 2));
};

/** Rate per simulated second over the samples of one state, from first to last. */
function rate(samples: EvacuationSample[], node: string, state: string, key: 'connections' | 'sessions'): number {
  const s = samples.filter((x) => x.node === node && x.state === state);
  return (s[0]![key] - s[s.length - 1]![key]) / (s[s.length - 1]!.t - s[0]!.t);
}

const evacuation = (node: string, over: Partial<Parameters<EmqxActivities['startEvacuation']>[0]> = {}) => ({
  target: TARGET,
  node,
  connEvictRate: 100,
  sessEvictRate: 40,
  waitTakeoverMs: 3000,
  waitHealthCheckMs: 2000,
  migrateTo: GREEN,
  ...over,
});

describe('cluster membership', () => {
  beforeEach(async () => {
    emqx = await EmqxApiServer.start({ nodes: BLUE.map((name) => ({ name, version: '5.7.0' })) });
  });

  test('clusterHealth reports each expected node; healthy once all are running members', async () => {
    const a = activitiesFor(emqx.url);
    const before = await exec(a.clusterHealth, { target: TARGET, expectNodes: GREEN.slice(0, 2) });
    expect(before).toEqual({
      healthy: false,
      nodes: GREEN.slice(0, 2).map((node) => ({ node, member: false, status: 'absent', version: null, role: null, uptimeMs: null })),
      members: BLUE,
    });
    emqx.addNode({ name: GREEN[0]!, version: '5.8.0' });
    emqx.addNode({ name: GREEN[1]!, version: '5.8.0', role: 'replicant' });
    emqx.stopNode(GREEN[1]!);
    // A stopped replicant is no member: mria forgets it (a stopped core stays listed, see forgetNode).
    expect((await exec(a.clusterHealth, { target: TARGET, expectNodes: GREEN.slice(0, 2) })).nodes).toEqual([
      { node: GREEN[0], member: true, status: 'running', version: '5.8.0', role: 'core', uptimeMs: expect.any(Number) },
      { node: GREEN[1], member: false, status: 'absent', version: null, role: null, uptimeMs: null },
    ]);
    emqx.startNode(GREEN[1]!);
    expect(await exec(a.clusterHealth, { target: TARGET, expectNodes: GREEN.slice(0, 2) })).toMatchObject({ healthy: true });
    expect(emqx.requests.map((r) => `${r.method} ${r.path}`)).toEqual(Array(3).fill('GET /api/v5/nodes'));
  });

  test('waitClusterJoined heartbeats progress until every green node has joined', async () => {
    const a = activitiesFor(emqx.url);
    const { result, heartbeats } = run(a.waitClusterJoined, { target: TARGET, nodes: GREEN, pollMs: 5 });
    for (const name of GREEN) {
      await until(() => heartbeats.length >= 2);
      emqx.addNode({ name });
      heartbeats.length = 0;
    }
    await expect(result).resolves.toMatchObject({ healthy: true, members: [...BLUE, ...GREEN] });
  });

  test('waitClusterJoined checks at once and follows a join by doubling its spacing from 20 ms, not at its poll (an hour here), in a handful of requests', async () => {
    const a = activitiesFor(emqx.url);
    const began = performance.now();
    const { result, heartbeats } = run(a.waitClusterJoined, { target: TARGET, nodes: GREEN, pollMs: 3_600_000 });
    await until(() => heartbeats.length >= 1);
    expect(heartbeats[0]).toEqual({ health: expect.stringContaining('0/3 nodes running members') });
    await new Promise((r) => setTimeout(r, 150));
    for (const name of GREEN) emqx.addNode({ name });
    // seen at all means seen before the hour's poll: the checks came 20, 40, 80, 160 ms ... apart
    await expect(result).resolves.toMatchObject({ healthy: true });
    // doubling spacing: however long it took (a busy machine only makes it longer), no more checks than doublings of 20 ms fit in it
    const doublings = Math.log2((performance.now() - began) / 20);
    expect(emqx.requests.length).toBeLessThanOrEqual(Math.ceil(doublings) + 2);
  });

  test('waitClusterJoined ends at once when cancelled (a green node that never joins)', async () => {
    const a = activitiesFor(emqx.url);
    const { result, heartbeats, env } = run(a.waitClusterJoined, { target: TARGET, nodes: GREEN, pollMs: 5 });
    await until(() => heartbeats.length >= 3);
    expect(heartbeats[0]).toEqual({ health: expect.stringContaining('0/3 nodes running members; waiting for emqx@emqx-green-0.h (absent)') });
    env.cancel();
    await expect(result).rejects.toBeInstanceOf(CancelledFailure);
  });

  test('forgetNode removes a stopped node, waits for a running one, and is idempotent', async () => {
    const a = activitiesFor(emqx.url);
    const running = await failure(exec(a.forgetNode, { target: TARGET, node: BLUE[2]! }));
    expect(running).toMatchObject({ type: 'NodeRunning', nonRetryable: false });

    emqx.stopNode(BLUE[2]!);
    expect(await exec(a.forgetNode, { target: TARGET, node: BLUE[2]! })).toEqual({ removed: true });
    expect(await exec(a.forgetNode, { target: TARGET, node: BLUE[2]! })).toEqual({ removed: false });
    expect(emqx.nodeNames()).toEqual(BLUE.slice(0, 2));
    expect(emqx.requestsTo('DELETE', '/api/v5/cluster').map((r) => r.path)).toEqual([`/api/v5/cluster/${BLUE[2]}/force_leave`]);

    // When the node behind the dashboard stops, another one answers and can remove it.
    emqx.stopNode(BLUE[0]!);
    expect(await exec(a.forgetNode, { target: TARGET, node: BLUE[0]! })).toEqual({ removed: true });
    expect(emqx.nodeNames()).toEqual([BLUE[1]]);
  });

  test('connectionCounts gives totals and each node', async () => {
    emqx.setLoad(BLUE[0]!, { connections: 10, sessions: 15 });
    emqx.setLoad(BLUE[1]!, { connections: 5 });
    emqx.stopNode(BLUE[2]!);
    expect(await exec(activitiesFor(emqx.url).connectionCounts, { target: TARGET })).toEqual({
      total: { connections: 15, sessions: 20 },
      nodes: [
        { node: BLUE[0], status: 'running', connections: 10, sessions: 15 },
        { node: BLUE[1], status: 'running', connections: 5, sessions: 5 },
        { node: BLUE[2], status: 'stopped', connections: 0, sessions: 0 },
      ],
    });
  });
});

describe('errors name the target and URL, never the secret', () => {
  beforeEach(async () => {
    emqx = await EmqxApiServer.start({ nodes: [{ name: BLUE[0]! }] });
  });

  test('wrong credentials: non-retryable Unauthorized', async () => {
    const err = await failure(exec(activitiesFor(emqx.url, 'not-the-secret').clusterHealth, { target: TARGET, expectNodes: GREEN }));
    expect(err).toMatchObject({ type: 'Unauthorized', nonRetryable: true });
    expect(err.message).toContain(`target '${TARGET}' at ${emqx.url}`);
    expect(err.message).toContain('401 BAD_API_KEY_OR_SECRET');
    expect(err.message).toContain('EMQX_KEY and EMQX_SECRET');
    expect(err.message).not.toContain('not-the-secret');
  });

  test('unreachable API (a closed port): retryable, with URL and cause', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const err = await failure(exec(activitiesFor(url).connectionCounts, { target: TARGET }));
    expect(err).toMatchObject({ type: 'Unreachable', nonRetryable: false });
    expect(err.message).toBe(`EMQX API of target '${TARGET}' at ${url} is unreachable: ECONNREFUSED`);
  });

  test('a secret missing on the worker, or a target without an emqx section: Misconfigured', async () => {
    const noSecret = createEmqxActivities({
      targets: targetLookup([{ name: TARGET, kind: 'emqx', emqx: { apiUrl: emqx.url, apiKey: { env: 'K' }, apiSecret: { env: 'S' } } }]),
      env: { K: 'k' },
    });
    expect(await failure(exec(noSecret.evacuationStatus, { target: TARGET }))).toMatchObject({
      type: 'Misconfigured',
      nonRetryable: true,
      message: 'secret not set: environment variable S is empty on this worker',
    });
    const noEmqx = createEmqxActivities({ targets: targetLookup([{ name: TARGET, kind: 'emqx' }]) });
    expect((await failure(exec(noEmqx.evacuationStatus, { target: TARGET }))).message).toContain("target 'mqtt-prod' has no emqx section");
    expect(emqx.requests).toEqual([]);
  });

  test('EMQX answering 503: tried again at once, twice; still 503: retryable, left to the activity\'s retries', async () => {
    emqx.failNext(2);
    expect((await exec(activitiesFor(emqx.url).clusterHealth, { target: TARGET, expectNodes: GREEN })).members.length).toBeGreaterThan(0);
    expect(emqx.requests).toHaveLength(3);
    emqx.failNext(3);
    expect(await failure(exec(activitiesFor(emqx.url).clusterHealth, { target: TARGET, expectNodes: GREEN }))).toMatchObject({
      type: 'EmqxUnavailable',
      nonRetryable: false,
      message: `listing nodes on EMQX of target '${TARGET}' at ${emqx.url} failed: 503 RPC_ERROR: RPC error on node: timeout`,
    });
  });
});

describe('evacuation', () => {
  beforeEach(async () => {
    emqx = await EmqxApiServer.start({
      tickMs: 2,
      nodes: [
        ...BLUE.map((name) => ({ name, connections: 1000, sessions: 1400 })),
        ...GREEN.map((name) => ({ name })),
      ],
    });
  });

  test('start sends what the evacuation reads, in integer seconds; the node reaches prohibiting with counts falling at the requested rates', async () => {
    const a = activitiesFor(emqx.url);
    const node = BLUE[2]!;
    expect(await exec(a.startEvacuation, evacuation(node))).toEqual({ alreadyStarted: false });
    expect(emqx.requestsTo('POST', '/api/v5/load_rebalance')).toEqual([
      {
        method: 'POST',
        path: `/api/v5/load_rebalance/${node}/evacuation/start`,
        query: '',
        body: { conn_evict_rate: 100, sess_evict_rate: 40, wait_takeover: 3, wait_health_check: 2, migrate_to: GREEN },
      },
    ]);

    const { result, heartbeats } = run(a.waitEvacuated, { target: TARGET, node, pollMs: 3 });
    const done = await result;
    expect(done).toEqual({
      node,
      state: 'prohibiting',
      connection_goal: 0,
      session_goal: 0,
      connection_eviction_rate: 100,
      session_eviction_rate: 40,
      session_recipients: GREEN,
      stats: { initial_connected: 1000, current_connected: 0, initial_sessions: 1400, current_sessions: 0 },
    });
    // The node went through every state; the heartbeats, which poll, saw them in order.
    const order = ['waiting_health_check', 'evicting_conns', 'waiting_takeover', 'evicting_sessions', 'prohibiting'];
    expect([...new Set(emqx.samples.filter((x) => x.node === node).map((x) => x.state))]).toEqual(order);
    const seen = (heartbeats as NodeEvacuationStatus[]).map((h) => order.indexOf(h.state));
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    expect(seen.at(-1)).toBe(order.length - 1);

    // Measured on the server's per-second samples: within 10% of the requested rates.
    const connRate = rate(emqx.samples, node, 'evicting_conns', 'connections');
    const sessRate = rate(emqx.samples, node, 'evicting_sessions', 'sessions');
    expect(Math.abs(connRate - 100) / 100).toBeLessThanOrEqual(0.1);
    expect(Math.abs(sessRate - 40) / 40).toBeLessThanOrEqual(0.1);
    // Everything went to the green nodes; the other blue nodes were untouched.
    const counts = await exec(a.connectionCounts, { target: TARGET });
    expect(counts.total).toEqual({ connections: 3000, sessions: 4200 });
    expect(counts.nodes.filter((n) => GREEN.includes(n.node)).reduce((s, n) => s + n.sessions, 0)).toBe(1400);
    expect(counts.nodes.find((n) => n.node === BLUE[0])).toMatchObject({ connections: 1000, sessions: 1400 });
  });

  test('start is idempotent: a node already evacuating, seen in global_status or told by a 400 already_started', async () => {
    const a = activitiesFor(emqx.url);
    const node = BLUE[0]!;
    expect(await exec(a.startEvacuation, evacuation(node))).toEqual({ alreadyStarted: false });
    expect(await exec(a.startEvacuation, evacuation(node))).toEqual({ alreadyStarted: true });
    expect(emqx.requestsTo('POST', '/api/v5/load_rebalance')).toHaveLength(1);

    // A stale global_status (the evacuation began between the read and the start).
    const stale: typeof fetch = async (url, init) =>
      String(url).endsWith('/global_status') ? new Response(JSON.stringify({ evacuations: [], purges: [], rebalances: [] })) : fetch(url, init);
    expect(await exec(activitiesFor(emqx.url, emqx.apiSecret, stale).startEvacuation, evacuation(node))).toEqual({ alreadyStarted: true });
    expect(emqx.requestsTo('POST', '/api/v5/load_rebalance')).toHaveLength(2);
  });

  test('stop is idempotent: not evacuating, or an unknown node, is success', async () => {
    const a = activitiesFor(emqx.url);
    await exec(a.startEvacuation, evacuation(BLUE[1]!));
    expect(await exec(a.evacuationStatus, { target: TARGET })).toMatchObject([{ node: BLUE[1], state: expect.any(String) }]);
    expect(await exec(a.stopEvacuation, { target: TARGET, node: BLUE[1]! })).toEqual({ wasEvacuating: true });
    expect(await exec(a.stopEvacuation, { target: TARGET, node: BLUE[1]! })).toEqual({ wasEvacuating: false });
    expect(await exec(a.stopEvacuation, { target: TARGET, node: 'emqx@gone.h' })).toEqual({ wasEvacuating: false });
    expect(await exec(a.evacuationStatus, { target: TARGET })).toEqual([]);
    expect(emqx.node(BLUE[1]!).evacuation).toBeUndefined();
  });

  test('start: an unknown node or recipient and a bad rate fail for good; a busy agent, a stopped node or a stopped recipient are retried', async () => {
    const a = activitiesFor(emqx.url);
    expect(await failure(exec(a.startEvacuation, evacuation('emqx@nope.h')))).toMatchObject({ type: 'NotFound', nonRetryable: true });
    emqx.setAgentBusy(BLUE[0]!, true);
    expect(await failure(exec(a.startEvacuation, evacuation(BLUE[0]!)))).toMatchObject({ type: 'EvacuationBusy', nonRetryable: false });
    emqx.stopNode(GREEN[2]!);
    const unavailable = await failure(exec(a.startEvacuation, evacuation(BLUE[1]!)));
    expect(unavailable).toMatchObject({ type: 'RecipientsUnavailable', nonRetryable: false });
    expect(unavailable.message).toContain(`Nodes unavailable: ['${GREEN[2]}']`);
    const invalid = await failure(exec(a.startEvacuation, evacuation(BLUE[1]!, { migrateTo: ['emqx@never-joined.h'] })));
    expect(invalid).toMatchObject({ type: 'Invalid', nonRetryable: true });
    expect(invalid.message).toContain('Invalid nodes: [<<"emqx@never-joined.h">>]');
    expect(await failure(exec(a.startEvacuation, evacuation(BLUE[1]!, { connEvictRate: 0, migrateTo: GREEN.slice(0, 2) })))).toMatchObject({ type: 'Invalid', nonRetryable: true });
    emqx.stopNode(BLUE[2]!);
    expect(await failure(exec(a.startEvacuation, evacuation(BLUE[2]!, { migrateTo: GREEN.slice(0, 2) })))).toMatchObject({ type: 'NodeNotRunning', nonRetryable: false });
  });

  test('waitEvacuated is cancellable, and a retry after a worker crash resumes observing without starting again', async () => {
    const a = activitiesFor(emqx.url);
    const node = BLUE[0]!;
    // A long health-check wait keeps the node evacuating until the first wait is cancelled.
    await exec(a.startEvacuation, evacuation(node, { waitHealthCheckMs: 250_000 }));
    const first = run(a.waitEvacuated, { target: TARGET, node, pollMs: 3 });
    await until(() => first.heartbeats.length >= 2);
    first.env.cancel();
    await expect(first.result).rejects.toBeInstanceOf(CancelledFailure);

    // The retry runs the step again from its start.
    expect(await exec(a.startEvacuation, evacuation(node, { waitHealthCheckMs: 250_000 }))).toEqual({ alreadyStarted: true });
    await expect(exec(a.waitEvacuated, { target: TARGET, node, pollMs: 3 })).resolves.toMatchObject({ state: 'prohibiting' });
    expect(emqx.requestsTo('POST', '/api/v5/load_rebalance')).toHaveLength(1);
  });

  test('waitEvacuated fails for good when a running node is not evacuating, seen three times in a row', async () => {
    const err = await failure(exec(activitiesFor(emqx.url).waitEvacuated, { target: TARGET, node: BLUE[0]!, pollMs: 3 }));
    expect(err).toMatchObject({ type: 'NotEvacuating', nonRetryable: true });
    expect(emqx.requestsTo('GET', '/api/v5/load_rebalance/global_status')).toHaveLength(3);
  });

  test('waitEvacuated waits through a node that cannot be reached (missing from global_status) and sees it finish', async () => {
    const a = activitiesFor(emqx.url);
    const node = BLUE[1]!;
    await exec(a.startEvacuation, evacuation(node));
    emqx.setUnreachable(node, true);
    const { result, heartbeats } = run(a.waitEvacuated, { target: TARGET, node, pollMs: 3 });
    await until(() => heartbeats.length >= 5);
    expect(heartbeats.at(-1)).toEqual({ node, state: 'not running: its evacuation resumes when it runs again' });
    emqx.setUnreachable(node, false);
    await expect(result).resolves.toMatchObject({ node, state: 'prohibiting' });
  });

  test('an edition without the evacuation API: EvacuationUnavailable on start, nothing to stop or report', async () => {
    await emqx.close();
    emqx = await EmqxApiServer.start({ nodes: BLUE.map((name) => ({ name, edition: 'Opensource' as const, connections: 10 })) });
    const a = activitiesFor(emqx.url);
    const err = await failure(exec(a.startEvacuation, evacuation(BLUE[0]!)));
    expect(err).toMatchObject({ type: 'EvacuationUnavailable', nonRetryable: true });
    expect(err.message).toContain('drain by removing pods instead');
    expect(await exec(a.stopEvacuation, { target: TARGET, node: BLUE[0]! })).toEqual({ wasEvacuating: false });
    expect(await exec(a.evacuationStatus, { target: TARGET })).toEqual([]);
    expect((await failure(exec(a.waitEvacuated, { target: TARGET, node: BLUE[0]! }))).type).toBe('EvacuationUnavailable');
    expect(emqx.requestsTo('POST', '/api/v5/load_rebalance/')).toEqual([expect.objectContaining({ path: `/api/v5/load_rebalance/${BLUE[0]}/evacuation/stop` })]);
  });
});
