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
    type: 'KongUnreachable',
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
