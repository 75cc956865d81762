/**
 * The test EMQX's own levers and its simulated time. What it answers is the
 * sandbox node's REST API, held to the contract fixtures by
 * test/sandbox/emqx/contractStandIns.test.ts.
 */
import { EmqxApiServer } from './emqxApiServer';

let emqx: EmqxApiServer;
afterEach(() => emqx.close());

const auth = (s: EmqxApiServer): string => `Basic ${Buffer.from(`${s.apiKey}:${s.apiSecret}`).toString('base64')}`;
async function call(method: string, path: string, body?: unknown, authorization = auth(emqx)): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${emqx.url}${path}`, {
    method,
    headers: { authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const blue = ['emqx@b-0.h', 'emqx@b-1.h'];
const start = (node: string, over: Record<string, unknown> = {}) =>
  call('POST', `/api/v5/load_rebalance/${node}/evacuation/start`, { conn_evict_rate: 10, sess_evict_rate: 10, wait_takeover: '1s', wait_health_check: 1, ...over });

beforeEach(async () => {
  emqx = await EmqxApiServer.start({ tickMs: 0, nodes: blue.map((name, i) => ({ name, connections: 20 * (i + 1), sessions: 30 * (i + 1) })) });
});

test('Basic auth: a wrong secret gets 401 BAD_API_KEY_OR_SECRET; availability_check needs none', async () => {
  const wrong = `Basic ${Buffer.from(`${emqx.apiKey}:nope`).toString('base64')}`;
  expect(await call('GET', '/api/v5/nodes', undefined, wrong)).toEqual({ status: 401, body: { code: 'BAD_API_KEY_OR_SECRET', message: expect.any(String) } });
  expect((await call('GET', '/api/v5/load_rebalance/availability_check', undefined, '')).status).toBe(200);
});

test('a stopped core stays listed until force_leave; on its own path it is not found', async () => {
  emqx.stopNode('emqx@b-1.h');
  expect((await call('GET', '/api/v5/nodes')).body).toEqual([
    expect.objectContaining({ node: 'emqx@b-0.h', node_status: 'running', version: '5.8.0', role: 'core', edition: 'Enterprise', connections: 30, live_connections: 20 }),
    { node: 'emqx@b-1.h', node_status: 'stopped', role: 'core' },
  ]);
  expect(await call('GET', '/api/v5/nodes/emqx@b-1.h')).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Node not found: emqx@b-1.h' } });
  expect((await call('GET', '/api/v5/stats?aggregate=true')).body).toEqual({ 'connections.count': 30, 'live_connections.count': 20, 'sessions.count': 30 });
  expect((await call('DELETE', '/api/v5/cluster/emqx@b-1.h/force_leave')).status).toBe(204);
  expect(emqx.nodeNames()).toEqual(['emqx@b-0.h']);
});

test('evacuation walks the states at one step per simulated second and reports them in global_status', async () => {
  emqx.addNode({ name: 'emqx@g-0.h' });
  expect(await start('emqx@b-1.h', { migrate_to: ['emqx@g-0.h'], wait_takeover: '2s' })).toEqual({ status: 200, body: {} });
  const states: string[] = [];
  for (let i = 0; i < 14; i++) {
    const g = (await call('GET', '/api/v5/load_rebalance/global_status')).body as { evacuations: { state: string }[] };
    states.push(g.evacuations[0]!.state);
    emqx.advance(1);
  }
  // 40 connections at 10/s, the first 10 as the state is entered (state_timeout 0), then 20 offline sessions at 10/s.
  expect(states).toEqual([
    'waiting_health_check',
    ...Array(4).fill('evicting_conns'),
    'waiting_takeover',
    'waiting_takeover',
    ...Array(2).fill('evicting_sessions'),
    ...Array(5).fill('prohibiting'),
  ]);
  expect(emqx.node('emqx@b-1.h')).toMatchObject({ connections: 0, sessions: 0, evacuation: 'prohibiting' });
  expect(emqx.node('emqx@g-0.h')).toMatchObject({ connections: 40, sessions: 60 });
  expect((await call('GET', '/api/v5/load_rebalance/global_status')).body).toEqual({
    evacuations: [
      {
        node: 'emqx@b-1.h',
        state: 'prohibiting',
        connection_eviction_rate: 10,
        session_eviction_rate: 10,
        connection_goal: 0,
        session_goal: 0,
        session_recipients: ['emqx@g-0.h'],
        stats: { initial_connected: 40, current_connected: 0, initial_sessions: 60, current_sessions: 0 },
      },
    ],
    purges: [],
    rebalances: [],
  });
});

test('availability_check answers 503 NODE_EVACUATING while the API node evacuates', async () => {
  await start('emqx@b-0.h');
  expect(await call('GET', '/api/v5/load_rebalance/availability_check', undefined, '')).toEqual({ status: 503, body: { code: 'NODE_EVACUATING', message: 'Node Evacuating' } });
  emqx.apiNode = 'emqx@b-1.h';
  expect((await call('GET', '/api/v5/load_rebalance/availability_check', undefined, '')).status).toBe(200);
});

test('the answering node decides the shape: an open source 5.8 has no load_rebalance paths; faults can be injected', async () => {
  emqx.addNode({ name: 'emqx@oss.h', version: '5.8.0', edition: 'Opensource' });
  emqx.apiNode = 'emqx@oss.h';
  expect(await call('GET', '/api/v5/load_rebalance/global_status')).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Request Path Not Found' } });
  emqx.failNext(1);
  expect((await call('GET', '/api/v5/nodes')).status).toBe(503);
  expect((await call('GET', '/api/v5/nodes')).status).toBe(200);
  expect(emqx.requests.map((r) => `${r.method} ${r.path}${r.query}`)).toEqual(['GET /api/v5/load_rebalance/global_status', 'GET /api/v5/nodes', 'GET /api/v5/nodes']);
});
