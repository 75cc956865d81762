/**
 * What one caller may cost the API: 401s per address, and per principal
 * requests per minute, requests in progress and long polls; each over its
 * limit answered 429 with Retry-After, others unaffected.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { scriptedSuite } from '../support/scriptedSuite';
import { eventually } from '../support/temporal';
import { TOKENS, call, makeTargets, testConfig, testServer } from './harness';

const suite = scriptedSuite('limits');
const { names: T, targets } = makeTargets({ polled: 'emqx' });
const LIMITS = { requestsPerMinute: 8, concurrentRequests: 1, longPolls: 1, authFailuresPerMinute: 3 };
let app: FastifyInstance;

beforeAll(async () => {
  const config = testConfig(targets, suite.taskQueue);
  app = await testServer(suite.env.client, { ...config, env: { ...config.env, api: { ...config.env.api, limits: LIMITS } } });
});
afterAll(() => app?.close());

const from = (remoteAddress: string, token: string) => app.inject({ method: 'GET', url: '/v1/targets', remoteAddress, headers: { authorization: `Bearer ${token}` } });

test('failed authentications are limited per address: past the limit even a good token waits, with Retry-After; another address is not affected', async () => {
  for (let i = 0; i < LIMITS.authFailuresPerMinute; i++) expect((await from('192.0.2.7', 'guessed-token-000000000000000000000000')).statusCode).toBe(401);
  const refused = await from('192.0.2.7', TOKENS.approver);
  expect(refused.statusCode).toBe(429);
  expect(refused.json().error).toMatchObject({ code: 'TOO_MANY_REQUESTS', message: 'too many failed authentications from 192.0.2.7: at most 3 a minute' });
  expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
  expect((await from('192.0.2.8', TOKENS.approver)).statusCode).toBe(200);
});

test('requests per minute are limited per principal: the next one gets 429 with Retry-After, another principal goes on', async () => {
  const statuses: number[] = [];
  for (let i = 0; i <= LIMITS.requestsPerMinute; i++) statuses.push((await call(app, 'GET', '/v1/targets', { as: 'viewer' })).status);
  expect(statuses).toEqual([...Array(LIMITS.requestsPerMinute).fill(200), 429]);
  const refused = await call(app, 'GET', '/v1/targets', { as: 'viewer' });
  expect(refused.json.error.message).toMatch(/^viewer made more than 8 requests in a minute: retry after/);
  expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  expect((await call(app, 'GET', '/v1/targets', { as: 'operator' })).status).toBe(200);
});

test('requests in progress are limited per principal: a second one while the first is still being sent gets 429', async () => {
  const body = new PassThrough();
  const first = app.inject({ method: 'POST', url: `/v1/upgrades/${T.polled}.00000000-0000-0000-0000-000000000000/abort`, payload: body, headers: { authorization: `Bearer ${TOKENS.lead}`, 'content-type': 'application/json' } });
  body.write('{"reason":');
  await new Promise((r) => setTimeout(r, 100));
  const second = await call(app, 'GET', '/v1/targets', { as: 'lead' });
  expect(second.status).toBe(429);
  expect(second.json.error.message).toBe('lead has 1 requests in progress already, the most it may have at once');
  expect(second.headers['retry-after']).toBe('1');
  body.end('"done"}');
  expect((await first).statusCode).toBe(404);
  expect((await call(app, 'GET', '/v1/targets', { as: 'lead' })).status).toBe(200);
});

test('phase long polls are limited per principal; a short read is not one', async () => {
  const started = await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'emqx', target: T.polled, version: '5.8.0', options: { approval: 'manual' } } });
  expect(started.status).toBe(201);
  const phase = `/v1/targets/${T.polled}/releases/${T.polled}-1-0-0/phase`;
  await eventually(async () => (await call(app, 'GET', phase, { as: { service: T.polled } })).status === 200);
  const waiting = call(app, 'GET', `${phase}?waitForChange=3s`, { as: { service: T.polled } });
  await new Promise((r) => setTimeout(r, 300));
  const second = await call(app, 'GET', `${phase}?waitForChange=3s`, { as: { service: T.polled } });
  expect(second.status).toBe(429);
  expect(second.json.error.message).toContain(`svc-${T.polled} has 1 long polls waiting already`);
  expect((await call(app, 'GET', phase, { as: { service: T.polled } })).status).toBe(200);
  expect((await waiting).status).toBe(200);
  expect((await call(app, 'GET', `${phase}?waitForChange=1s`, { as: { service: T.polled } })).status).toBe(200);
  await call(app, 'POST', `/v1/upgrades/${started.json.id}/abort`, { as: 'operator', body: { reason: 'test over' } });
});
