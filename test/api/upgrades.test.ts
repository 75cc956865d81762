/** Every endpoint on the real dev server, with a worker running the real workflow on the scripted strategy. */
import type { FastifyInstance } from 'fastify';
import { Connection, Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { releaseName, upgradeWorkflowId } from '../../src/domain/upgrade';
import { KIND, TARGET } from '../../src/workflows/searchAttributes';
import { ScriptedWorld } from '../support/scriptedWorld';
import { connectSharedServer, eventually, startWorker, uniqueId, type RunningWorker } from '../support/temporal';
import { UI_URL, call, makeTargets, testConfig, testServer } from './harness';

let env: TestWorkflowEnvironment;
let worker: RunningWorker;
let app: FastifyInstance;
const world = new ScriptedWorld();
const taskQueue = uniqueId('api');
const { names: T, targets } = makeTargets({
  happy: 'emqx',
  busy: 'emqx',
  early: 'emqx',
  rollback: 'emqx',
  abort: 'emqx',
  late: 'emqx',
  phase: 'emqx',
  distinct: 'emqx',
  listed: 'emqx',
  idem: 'emqx',
});

beforeAll(async () => {
  env = await connectSharedServer();
  worker = await startWorker(env, taskQueue, world.activities(env.client));
  app = await testServer(env.client, testConfig(targets, taskQueue));
});
afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await env?.teardown();
});

const start = (target: string, kind: string, options: object = {}, as: 'operator' | 'lead' = 'operator', server = app) =>
  call(server, 'POST', '/v1/upgrades', { as, body: { kind, target, version: '5.8.0', reason: 'test', options } });
const get = (id: string) => call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' });
const steer = (id: string, action: string, as: 'operator' | 'approver' | 'lead', reason = 'test', server = app) =>
  call(server, 'POST', `/v1/upgrades/${id}/${action}`, { as, body: { reason } });
const statusOf = async (id: string) => (await get(id)).json.status as string;
const until = (id: string, status: string) => eventually(async () => (await statusOf(id)) === status);
const atStep = (id: string, step: string) => eventually(async () => (await get(id)).json.step === step);

describe('upgrades API on the dev server', () => {
  test('GET /v1/targets lists names and kinds, never placement or secrets', async () => {
    const res = await call(app, 'GET', '/v1/targets', { as: 'viewer' });
    expect(res.status).toBe(200);
    expect(res.json.targets).toContainEqual({ name: T.happy, kind: 'emqx', description: 'test target happy' });
    expect(res.text).not.toMatch(/SECRET_|apiUrl|emqx\.test/);
  });

  test('start -> get -> approve -> SUCCEEDED, with search attributes, summary and a Temporal UI link', async () => {
    const created = await start(T.happy, 'emqx', { approval: 'manual' });
    expect(created.status).toBe(201);
    const { id, runId, workflowId } = created.json;
    expect(id).toBe(`${T.happy}.${runId}`);
    expect(workflowId).toBe(upgradeWorkflowId(T.happy));
    expect(created.headers.location).toBe(`/v1/upgrades/${id}`);
    const uiLink = `${UI_URL}/namespaces/default/workflows/${workflowId}/${runId}/history`;
    expect(created.json.links).toEqual({ self: `/v1/upgrades/${id}`, temporalUi: uiLink });

    const description = await env.client.workflow.getHandle(workflowId, runId).describe();
    expect(await description.staticSummary()).toBe(`upgrade ${T.happy} (emqx) to 5.8.0`);
    expect(description.typedSearchAttributes.get(TARGET)).toBe(T.happy);
    expect(description.typedSearchAttributes.get(KIND)).toBe('emqx');

    await until(id, 'AWAITING_APPROVAL');
    const waiting = await get(id);
    expect(waiting.json).toMatchObject({ upgradeId: id, requestedBy: 'operator', step: 'gate', links: { temporalUi: uiLink } });
    expect(waiting.json.waitingFor).toMatch(/approval/);

    const approved = await steer(id, 'approve', 'approver', 'canary metrics fine');
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ id, action: 'approve', accepted: true, by: 'approver' });
    await until(id, 'SUCCEEDED');
    const final = (await get(id)).json;
    expect(final.approval).toMatchObject({ approvedBy: 'approver' });
    expect(final.transitions).toContainEqual(expect.objectContaining({ by: 'approver', why: 'approved: canary metrics fine' }));
    expect(final.releases.green).toMatchObject({ version: '5.8.0', phase: 'SERVING' });
  });

  test('a second start for a busy target is 409 naming the running upgrade', async () => {
    world.hold(T.busy, 'waitReady');
    const first = await start(T.busy, 'emqx');
    expect(first.status).toBe(201);
    const second = await start(T.busy, 'emqx');
    expect(second.status).toBe(409);
    expect(second.json.error).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(second.json.error.message).toContain(`already has an upgrade running: ${first.json.id}`);
    expect((await steer(first.json.id, 'abort', 'operator')).status).toBe(200);
    await until(first.json.id, 'ROLLED_BACK');
  });

  test('approve when nothing waits is 409 with the reason', async () => {
    const hold = world.hold(T.early, 'verify');
    const { id } = (await start(T.early, 'emqx', { approval: 'manual' })).json;
    await eventually(async () => hold.started());
    const res = await steer(id, 'approve', 'approver');
    expect(res.status).toBe(409);
    expect(res.json.error.message).toMatch(/nothing is waiting for approval: the upgrade is RUNNING at step verify/);
    hold.release();
    await until(id, 'AWAITING_APPROVAL');
    expect((await steer(id, 'approve', 'approver')).status).toBe(200);
    await until(id, 'SUCCEEDED');
  });

  test('a steering request retried with its Idempotency-Key acts once and answers as the first time', async () => {
    const { id } = (await start(T.idem, 'emqx', { approval: 'manual' })).json;
    await until(id, 'AWAITING_APPROVAL');
    const approve = (key?: string) =>
      call(app, 'POST', `/v1/upgrades/${id}/approve`, { as: 'approver', body: { reason: 'ship it' }, headers: key ? { 'idempotency-key': key } : {} });
    expect((await approve('change-4711')).status).toBe(200);
    const retried = await approve('change-4711');
    expect(retried.status).toBe(200);
    expect(retried.json).toMatchObject({ accepted: true, action: 'approve' });
    expect((await approve()).status).toBe(409);
    await until(id, 'SUCCEEDED');
    expect((await get(id)).json.transitions.filter((t: { why: string }) => t.why.startsWith('approved:'))).toHaveLength(1);
    const bad = await approve('spaces are not allowed');
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/idempotency-key/);
  });

  test('rollback ends ROLLED_BACK with blue serving; steering an ended upgrade is 409', async () => {
    world.hold(T.rollback, 'waitReady');
    const { id } = (await start(T.rollback, 'emqx')).json;
    await atStep(id, 'waitReady');
    const res = await steer(id, 'rollback', 'operator', 'green looks wrong');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ action: 'rollback', accepted: true, by: 'operator' });
    await until(id, 'ROLLED_BACK');
    const final = (await get(id)).json;
    expect(final.releases.blue.phase).toBe('SERVING');
    expect(final.releases.green.phase).toBe('OBSOLETE');
    expect(final.transitions).toContainEqual(expect.objectContaining({ what: 'status', to: 'ROLLING_BACK', by: 'operator' }));
    const again = await steer(id, 'rollback', 'operator');
    expect(again.status).toBe(409);
    expect(again.json.error.message).toContain('the upgrade has already ended: ROLLED_BACK');
  });

  test('abort before finalize rolls back', async () => {
    world.hold(T.abort, 'deployGreen');
    const { id } = (await start(T.abort, 'emqx')).json;
    await atStep(id, 'deployGreen');
    expect((await steer(id, 'abort', 'operator', 'wrong window')).status).toBe(200);
    await until(id, 'ROLLED_BACK');
    expect(world.effectsOf(T.abort)).toContain('undo deployGreen');
  });

  test('rollback after finalize is 409: the point of no return', async () => {
    const hold = world.hold(T.late, 'cleanUpBlue');
    const { id } = (await start(T.late, 'emqx')).json;
    await eventually(async () => hold.started());
    const res = await steer(id, 'rollback', 'operator', 'too late');
    expect(res.status).toBe(409);
    expect(res.json.error.message).toContain('point of no return');
    hold.release();
    await until(id, 'SUCCEEDED');
  });

  test('the phase endpoint tells a release its phase in the latest upgrade', async () => {
    const hold = world.hold(T.phase, 'waitReady');
    const { id } = (await start(T.phase, 'emqx')).json;
    await eventually(async () => hold.started());
    const phase = (release: string) => call(app, 'GET', `/v1/targets/${T.phase}/releases/${release}/phase`, { as: 'viewer' });
    const green = await phase(releaseName(T.phase, '5.8.0'));
    expect(green.status).toBe(200);
    expect(green.json).toMatchObject({ target: T.phase, role: 'green', phase: 'INITIALISING', upgradeId: id, status: 'RUNNING' });
    expect((await phase(`${T.phase}-1-0-0`)).json).toMatchObject({ role: 'blue', phase: 'SERVING' });
    const unknown = await phase(`${T.phase}-9-9-9`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toContain(`release ${T.phase}-9-9-9 is not part of the latest upgrade of ${T.phase}`);
    hold.release();
    await until(id, 'SUCCEEDED');
    expect((await phase(`${T.phase}-1-0-0`)).json.phase).toBe('OBSOLETE');
    expect((await phase(releaseName(T.phase, '5.8.0'))).json.phase).toBe('SERVING');
  });

  test('requireDistinctApprover: the requester cannot approve its own upgrade (403)', async () => {
    const strict = await testServer(env.client, testConfig(targets, taskQueue, { approvals: { promote: { requireDistinctApprover: true } } }));
    try {
      const { id } = (await start(T.distinct, 'emqx', { approval: 'manual' }, 'lead', strict)).json;
      await until(id, 'AWAITING_APPROVAL');
      const own = await steer(id, 'approve', 'lead', 'self', strict);
      expect(own.status).toBe(403);
      expect(own.json.error.message).toContain('lead requested this upgrade and cannot also approve it: the promote gate requires a distinct approver');
      expect((await steer(id, 'approve', 'approver', 'second pair of eyes', strict)).status).toBe(200);
      await until(id, 'SUCCEEDED');
    } finally {
      await strict.close();
    }
  });

  test('GET /v1/upgrades lists from visibility, filtered by target, kind and status', async () => {
    const { id } = (await start(T.listed, 'emqx')).json;
    await until(id, 'SUCCEEDED');
    const list = (query: string) => call(app, 'GET', `/v1/upgrades?${query}`, { as: 'viewer' });
    const found = await eventually(async () => {
      const res = await list(`target=${T.listed}&kind=emqx&status=SUCCEEDED`);
      return res.json.upgrades.length === 1 && res.json.upgrades[0];
    });
    expect(found).toMatchObject({ id, target: T.listed, kind: 'emqx', status: 'SUCCEEDED', phase: 'SERVING', execution: 'COMPLETED' });
    expect(found.links.self).toBe(`/v1/upgrades/${id}`);
    expect((await list(`target=${T.listed}&status=RUNNING`)).json.upgrades).toEqual([]);
    const all = (await list('kind=emqx')).json.upgrades.map((u: { target: string }) => u.target);
    expect(all).toEqual(expect.arrayContaining([T.happy, T.listed]));
  });

  test('/healthz, /readyz and /metrics', async () => {
    expect((await call(app, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await call(app, 'GET', '/readyz')).json).toEqual({ status: 'ready' });
    const metrics = await call(app, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/cutover_http_requests_total\{method="POST",route="\/v1\/upgrades",status="201"\} \d+/);
    expect(metrics.text).toMatch(/cutover_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/upgrades\/:id"/);
  });

  test('/readyz is 503 when Temporal is unreachable', async () => {
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const down = await testServer(new Client({ connection }), testConfig(targets, taskQueue));
    try {
      const res = await call(down, 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.json.error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('Temporal is not ready') });
    } finally {
      await down.close();
      await connection.close();
    }
  });

  test('/docs/json is an OpenAPI document listing every route; /docs serves the UI', async () => {
    const doc = (await call(app, 'GET', '/docs/json')).json;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('cutover');
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    const operations = Object.entries(doc.paths as Record<string, Record<string, { responses: object }>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => {
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        return `${method.toUpperCase()} ${path}`;
      }),
    );
    expect(operations.sort()).toEqual(
      [
        'POST /v1/upgrades',
        'GET /v1/upgrades',
        'GET /v1/upgrades/{id}',
        'POST /v1/upgrades/{id}/approve',
        'POST /v1/upgrades/{id}/rollback',
        'POST /v1/upgrades/{id}/abort',
        'GET /v1/targets',
        'GET /v1/targets/{target}',
        'POST /v1/targets/{target}/cleanup',
        'GET /v1/targets/{target}/releases/{release}/phase',
        'POST /v1/targets/{target}/releases/{release}/ready',
        'GET /v1/me',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ].sort(),
    );
    const start = doc.paths['/v1/upgrades'].post;
    expect(start.security).toEqual([{ bearer: [] }]);
    expect(start.requestBody.content['application/json'].schema.required).toEqual(['kind', 'target', 'version']);
    const ui = await call(app, 'GET', '/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toMatch(/swagger/i);
  });
});
