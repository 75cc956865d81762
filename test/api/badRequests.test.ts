/** Bad requests: each gets the right status and one error shape whose message names the problem. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { connectSharedServer, uniqueId } from '../support/temporal';
import { call, makeTargets, testConfig, testServer, type Call } from './harness';

let env: TestWorkflowEnvironment;
let app: FastifyInstance;
// No worker: every request here must be refused before an upgrade would run.
const { names: T, targets } = makeTargets({ mqtt: 'emqx', gateway: 'emqx' });

beforeAll(async () => {
  env = await connectSharedServer();
  app = await testServer(env.client, testConfig(targets, uniqueId('bad-requests')));
});
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

const ok = { kind: 'emqx', target: T.mqtt, version: '5.8.0' };
const withOptions = (options: object) => ({ ...ok, options });
const unknownId = () => `${T.mqtt}.${randomUUID()}`;

interface Case {
  name: string;
  method: 'GET' | 'POST';
  url: string | (() => string);
  req: Call;
  status: number;
  message: RegExp;
  field?: string;
}

const START = '/v1/upgrades';
const cases: Case[] = [
  // authentication and roles
  { name: 'no token', method: 'POST', url: START, req: { body: ok }, status: 401, message: /no bearer token/ },
  { name: 'unknown token', method: 'GET', url: START, req: { headers: { authorization: 'Bearer nope' } }, status: 401, message: /unknown bearer token/ },
  { name: 'not a bearer header', method: 'GET', url: START, req: { headers: { authorization: 'Basic dXNlcjpwYXNz' } }, status: 401, message: /Bearer <token>/ },
  { name: 'viewer starts', method: 'POST', url: START, req: { as: 'viewer', body: ok }, status: 403, message: /starting.* needs the operator role; viewer has viewer/ },
  { name: 'operator approves', method: 'POST', url: () => `/v1/upgrades/${unknownId()}/approve`, req: { as: 'operator', body: { reason: 'x' } }, status: 403, message: /approving an upgrade needs the approver role/ },
  { name: 'approver rolls back', method: 'POST', url: () => `/v1/upgrades/${unknownId()}/rollback`, req: { as: 'approver', body: { reason: 'x' } }, status: 403, message: /needs the operator role; approver has approver/ },
  { name: 'approver aborts', method: 'POST', url: () => `/v1/upgrades/${unknownId()}/abort`, req: { as: 'approver', body: { reason: 'x' } }, status: 403, message: /needs the operator role/ },
  { name: 'no token to read', method: 'GET', url: '/v1/targets', req: {}, status: 401, message: /no bearer token/ },
  // the start request's body
  { name: 'missing kind', method: 'POST', url: START, req: { as: 'operator', body: { target: T.mqtt, version: '2' } }, status: 400, field: 'kind', message: /^kind is required$/ },
  { name: 'missing target', method: 'POST', url: START, req: { as: 'operator', body: { kind: 'emqx', version: '2' } }, status: 400, field: 'target', message: /^target is required$/ },
  { name: 'missing version', method: 'POST', url: START, req: { as: 'operator', body: { kind: 'emqx', target: T.mqtt } }, status: 400, field: 'version', message: /^version is required$/ },
  { name: 'version of the wrong type', method: 'POST', url: START, req: { as: 'operator', body: { ...ok, version: 2 } }, status: 400, field: 'version', message: /^version must be string$/ },
  { name: 'version with spaces', method: 'POST', url: START, req: { as: 'operator', body: { ...ok, version: 'two point oh' } }, status: 400, field: 'version', message: /version must be a version such as 5\.8\.0/ },
  {
    name: 'EMQX outside the support matrix',
    method: 'POST',
    url: START,
    req: { as: 'operator', body: { ...ok, version: '5.0.26' } },
    status: 400,
    field: 'version',
    message: /^version EMQX 5\.0\.26 is outside cutover's support matrix \(5\.1\.0 to 5\.10\.x\).*upgrade to 5\.1 or later/,
  },
  { name: 'unknown kind', method: 'POST', url: START, req: { as: 'operator', body: { ...ok, kind: 'redis' } }, status: 400, field: 'kind', message: /^kind must be (one of|a kind this worker has a strategy for:) emqx/ },
  { name: 'unknown target', method: 'POST', url: START, req: { as: 'operator', body: { ...ok, target: 'billing-db' } }, status: 400, field: 'target', message: /target 'billing-db' is not a configured target \(known: / },
  { name: 'target that is no name', method: 'POST', url: START, req: { as: 'operator', body: { ...ok, target: 'Orders!' } }, status: 400, field: 'target', message: /target must be a target name/ },
  { name: 'negative duration', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ standbyWindow: '-5m' }) }, status: 400, field: 'options.standbyWindow', message: /options\.standbyWindow must be a duration such as 90s, 10m or 1h30m/ },
  { name: 'a standby window of 100000000d (it wedged an upgrade once)', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ standbyWindow: '100000000d' }) }, status: 400, field: 'options.standbyWindow', message: /^options\.standbyWindow must be at most 30d \(it is 100000000d\)$/ },
  { name: 'a duration of 400 digits', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ standbyWindow: `${'9'.repeat(400)}ms` }) }, status: 400, field: 'options.standbyWindow', message: /must have a length less or equal to 32|must NOT have more than 32 characters/ },
  { name: 'a traffic step naming too many checks', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ traffic: [{ weight: 100, analysis: Array(21).fill('x') }] }) }, status: 400, field: 'options.traffic[0].analysis', message: /must NOT have more than 20 items/ },
  { name: 'garbled duration', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ autoPromoteAfter: '10 minutes' }) }, status: 400, field: 'options.autoPromoteAfter', message: /must be a duration/ },
  { name: 'duration as a number', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ standbyWindow: 600 }) }, status: 400, field: 'options.standbyWindow', message: /must be string/ },
  { name: 'zero step timeout', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ stepTimeouts: { waitReady: '0s' } }) }, status: 400, field: 'options.stepTimeouts.waitReady', message: /must be longer than 0s/ },
  { name: 'standBy time limit shorter than the window', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ standbyWindow: '1h', stepTimeouts: { standBy: '30m' } }) }, status: 400, field: 'options.stepTimeouts.standBy', message: /not longer than standbyWindow \(1h\)/ },
  { name: 'timeout of an unknown step', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ stepTimeouts: { deploy: '5m' } }) }, status: 400, field: 'options.stepTimeouts.deploy', message: /options\.stepTimeouts\.deploy is not a known property/ },
  { name: 'zero attempts', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ maxAttempts: 0 }) }, status: 400, field: 'options.maxAttempts', message: /options\.maxAttempts must be >= 1/ },
  { name: 'attempts as a string', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ maxAttempts: '3' }) }, status: 400, field: 'options.maxAttempts', message: /must be integer/ },
  { name: 'unknown approval mode', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ approval: 'sometimes' }) }, status: 400, field: 'options.approval', message: /must be one of manual, auto/ },
  { name: 'auto-promotion without a gate', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ approval: 'auto', autoPromoteAfter: '5m' }) }, status: 400, field: 'options.autoPromoteAfter', message: /applies only with approval manual/ },
  { name: 'auto-promotion after the time limit', method: 'POST', url: START, req: { as: 'operator', body: withOptions({ gates: { promote: { autoPromoteAfter: '2h', timeout: '30m' } } }) }, status: 400, field: 'options.gates.promote.autoPromoteAfter', message: /2h is not shorter than the gate's time limit \(gates\.promote\.timeout 30m\): .* could never fire/ },
  { name: 'extra property', method: 'POST', url: START, req: { as: 'operator', body: { ...ok, colour: 'green' } }, status: 400, field: 'colour', message: /^colour is not a known property$/ },
  { name: 'body is an array', method: 'POST', url: START, req: { as: 'operator', body: [ok] }, status: 400, field: 'body', message: /body must be object/ },
  { name: 'malformed JSON', method: 'POST', url: START, req: { as: 'operator', body: '{"kind":', headers: { 'content-type': 'application/json' } }, status: 400, message: /JSON/ },
  { name: 'not JSON', method: 'POST', url: START, req: { as: 'operator', body: 'kind=emqx', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, status: 415, message: /Unsupported Media Type/i },
  { name: 'oversized body', method: 'POST', url: START, req: { as: 'operator', body: { ...ok, reason: 'x'.repeat(70_000) } }, status: 413, message: /larger than the limit of 64 KiB/ },
  // steering
  { name: 'steering without a reason', method: 'POST', url: () => `/v1/upgrades/${unknownId()}/rollback`, req: { as: 'operator', body: {} }, status: 400, field: 'reason', message: /^reason is required$/ },
  { name: 'steering with an empty reason', method: 'POST', url: () => `/v1/upgrades/${unknownId()}/abort`, req: { as: 'operator', body: { reason: '' } }, status: 400, field: 'reason', message: /reason must NOT have fewer than 1 characters/ },
  { name: 'approving an unknown upgrade', method: 'POST', url: () => `/v1/upgrades/${unknownId()}/approve`, req: { as: 'approver', body: { reason: 'x' } }, status: 404, message: /no upgrade / },
  { name: 'rolling back a malformed id', method: 'POST', url: '/v1/upgrades/nope/rollback', req: { as: 'operator', body: { reason: 'x' } }, status: 400, field: 'id', message: /id 'nope' is not an upgrade id: expected <target>\.<runId>/ },
  // reading
  { name: 'unknown upgrade id', method: 'GET', url: () => `/v1/upgrades/${unknownId()}`, req: { as: 'viewer' }, status: 404, message: new RegExp(`no upgrade ${T.mqtt}\\.`) },
  { name: 'unknown target in an id', method: 'GET', url: () => `/v1/upgrades/nowhere.${randomUUID()}`, req: { as: 'viewer' }, status: 404, message: /no upgrade nowhere\./ },
  { name: 'malformed id', method: 'GET', url: '/v1/upgrades/orders-mqtt', req: { as: 'viewer' }, status: 400, field: 'id', message: /is not an upgrade id/ },
  { name: 'run id that is no UUID', method: 'GET', url: () => `/v1/upgrades/${T.mqtt}.${'-'.repeat(36)}`, req: { as: 'viewer' }, status: 400, field: 'id', message: /is not an upgrade id/ },
  { name: 'list by an unknown status', method: 'GET', url: '/v1/upgrades?status=DONE', req: { as: 'viewer' }, status: 400, field: 'status', message: /status must be one of RUNNING, AWAITING_APPROVAL/ },
  { name: 'list by an unknown parameter', method: 'GET', url: '/v1/upgrades?owner=me', req: { as: 'viewer' }, status: 400, field: 'owner', message: /owner is not a known property/ },
  { name: 'phase of an unknown target', method: 'GET', url: '/v1/targets/billing-db/releases/billing-db-1/phase', req: { as: 'viewer' }, status: 404, message: /unknown target billing-db/ },
  { name: 'phase of a target never upgraded', method: 'GET', url: `/v1/targets/${T.gateway}/releases/x/phase`, req: { as: 'viewer' }, status: 404, message: new RegExp(`no upgrade of ${T.gateway} has run yet`) },
  // a target's releases and their clean-up
  { name: 'releases of an unknown target', method: 'GET', url: '/v1/targets/billing-db', req: { as: 'viewer' }, status: 404, message: /^unknown target billing-db$/ },
  { name: 'releases of a target that is no name', method: 'GET', url: '/v1/targets/Orders!', req: { as: 'viewer' }, status: 400, field: 'target', message: /target must be a target name/ },
  { name: 'viewer cleans up', method: 'POST', url: `/v1/targets/${T.mqtt}/cleanup`, req: { as: 'viewer', body: { reason: 'x' } }, status: 403, message: /needs the operator role; viewer has viewer/ },
  { name: 'clean-up without a reason', method: 'POST', url: `/v1/targets/${T.mqtt}/cleanup`, req: { as: 'operator', body: {} }, status: 400, field: 'reason', message: /^reason is required$/ },
  { name: 'clean-up of an unknown target', method: 'POST', url: '/v1/targets/billing-db/cleanup', req: { as: 'operator', body: { reason: 'x' } }, status: 404, message: /^unknown target billing-db$/ },
  { name: 'unknown route', method: 'GET', url: '/v2/upgrades', req: { as: 'viewer' }, status: 404, message: /no such route: GET \/v2\/upgrades/ },
];

test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
  const res = await call(app, c.method, typeof c.url === 'function' ? c.url() : c.url, c.req);
  expect(res.status).toBe(c.status);
  expect(res.json).toEqual({ error: { status: c.status, code: expect.any(String), message: expect.any(String), ...(c.field ? { field: c.field } : {}) } });
  expect(res.json.error.message).toMatch(c.message);
  expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
});

test('401 says how to authenticate', async () => {
  const res = await call(app, 'GET', '/v1/upgrades');
  expect(res.headers['www-authenticate']).toBe('Bearer realm="cutover"');
  expect(res.json.error.code).toBe('UNAUTHENTICATED');
});
