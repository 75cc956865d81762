/** How cutover's node client reads what a Kong node answers, and whether a failure is worth a retry, from what Kong means. */
import type { ApplicationFailure } from '@temporalio/common';
import { nodeApi } from '../../../src/activities/kong/nodeApi';

const NODE = { pod: 'kong-0', proxyUrl: 'http://10.0.0.7:8000', statusUrl: 'http://10.0.0.7:8100', adminUrl: 'http://10.0.0.7:8001' };
const answers = (status: number, body?: unknown): typeof fetch => (async () => new Response(body === undefined ? null : JSON.stringify(body), { status })) as typeof fetch;
const refused: typeof fetch = async () => {
  throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
};
const failureOf = (p: Promise<unknown>) => p.then(() => undefined, (e: ApplicationFailure) => ({ type: e.type, nonRetryable: e.nonRetryable, message: e.message }));

test("no answer, or a 5xx: retryable, naming the status listener's default of the version where it cannot be reached", async () => {
  expect(await failureOf(nodeApi(refused).ready(NODE, '3.5.0'))).toEqual({
    type: 'KongRefused',
    nonRetryable: false,
    message: "GET /status/ready of kong-0: no answer from http://10.0.0.7:8100/status/ready (ECONNREFUSED); Kong 3.5.0's status listener is off unless the node sets status_listen (KONG_STATUS_LISTEN, e.g. 0.0.0.0:8100)",
  });
  expect(await failureOf(nodeApi(refused).ready(NODE, '3.8.1'))).toMatchObject({ message: expect.stringContaining("Kong 3.8.1's status listener is on 127.0.0.1:8007 only unless") });
  expect(await failureOf(nodeApi(answers(500, { message: 'An unexpected error occurred' })).status(NODE, '3.9.0'))).toMatchObject({ type: 'KongUnavailable', nonRetryable: false });
});

test('what cannot change: a 404 for a route the version lacks, a 405 to POST draining, an answer not as Kong prints it', async () => {
  expect(await failureOf(nodeApi(answers(404, { message: 'Not found' })).ready(NODE, '3.9.0'))).toMatchObject({ type: 'KongAnswer', nonRetryable: true, message: expect.stringContaining('answers 404 at /status/ready') });
  expect(await failureOf(nodeApi(answers(405, { message: 'Method not allowed' })).drain(NODE, '3.9.0'))).toMatchObject({
    type: 'KongAnswer',
    nonRetryable: true,
    message: expect.stringContaining('answered 405 (Method not allowed) to POST /status/ready {"status":"draining"}: Kong has it from 3.9.0 only'),
  });
  expect(await failureOf(nodeApi(answers(200, { server: { connections_active: '3' } })).status(NODE, '3.9.0'))).toEqual({
    type: 'KongAnswer',
    nonRetryable: true,
    message: 'Kong 3.9.0 answered GET /status (HTTP 200) with memory: nothing (expected required property), not as Kong 3.9.0 writes it',
  });
  expect(await failureOf(nodeApi(answers(200, { tagline: 'Welcome to kong' })).version(NODE, '3.9.0'))).toMatchObject({ type: 'KongAnswer', message: expect.stringContaining('with version: nothing') });
});

test('the answers read: ready and its reason, draining 204, the version GET / names', async () => {
  expect(await nodeApi(answers(503, { message: 'failed to connect to database' })).ready(NODE, '3.9.0')).toEqual({ ready: false, message: 'failed to connect to database' });
  await expect(nodeApi(answers(204)).drain(NODE, '3.9.0')).resolves.toBeUndefined();
  expect(await nodeApi(answers(400)).drain(NODE, '3.9.0').catch((e: ApplicationFailure) => e.nonRetryable)).toBe(true);
});

/** Answers in turn, the last one from then on; counts the requests. */
function inTurn(...replies: (() => Response)[]): typeof fetch & { calls: number } {
  const f = (async () => {
    f.calls += 1;
    return replies[Math.min(f.calls, replies.length) - 1]!();
  }) as unknown as typeof fetch & { calls: number };
  f.calls = 0;
  return f;
}
const json = (status: number, body: unknown) => () => new Response(JSON.stringify(body), { status });
const NGINX_503 = () => new Response('<html><head><title>503 Service Temporarily Unavailable</title></head></html>', { status: 503 });
const STATUS = { memory: { workers_lua_vms: [], lua_shared_dicts: {} }, server: { connections_active: 1, connections_reading: 0, connections_writing: 1, connections_waiting: 0, connections_accepted: 1, connections_handled: 1, total_requests: 1 }, database: { reachable: true } };

test('a 503 or 429 from in front of a node, or a reset, is tried again at once (twice), then left to the activity', async () => {
  const flaky = inTurn(NGINX_503, json(429, { message: 'API rate limit exceeded' }), json(200, STATUS));
  expect((await nodeApi(flaky).status(NODE, '3.9.0')).server.connections_active).toBe(1);
  expect(flaky.calls).toBe(3);
  const down = inTurn(NGINX_503);
  expect(await failureOf(nodeApi(down).status(NODE, '3.9.0'))).toMatchObject({ type: 'KongUnavailable', nonRetryable: false, message: expect.stringContaining('HTTP 503') });
  expect(down.calls).toBe(3);
  const reset = Object.assign(async () => {
    reset.calls += 1;
    if (reset.calls === 1) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    return json(200, STATUS)();
  }, { calls: 0 });
  expect(await nodeApi(reset as unknown as typeof fetch).status(NODE, '3.9.0')).toMatchObject({ database: { reachable: true } });
});

test("a 503 at /status/ready is Kong's 'not ready' only with Kong's body; a balancer's page is a failure that passes", async () => {
  const balancer = inTurn(NGINX_503);
  expect(await failureOf(nodeApi(balancer).ready(NODE, '3.9.0'))).toMatchObject({ type: 'KongUnavailable', nonRetryable: false });
  expect(balancer.calls).toBe(3);
  // Kong's answer: not asked again at once (the readiness wait polls it)
  const once = inTurn(json(503, { message: 'no configuration available (empty configuration present)' }));
  expect(await nodeApi(once).ready(NODE, '3.9.0')).toEqual({ ready: false, message: 'no configuration available (empty configuration present)' });
  expect(once.calls).toBe(1);
});
