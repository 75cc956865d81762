/**
 * POST /v1/upgrades?dryRun=true on the dev server, with a worker running the
 * real preview workflow over the scripted strategy: a preview is refused with
 * exactly the status and body a start gets, for each reason a start is
 * refused (a bad option, the policy, an unsupported version, a held target),
 * and a preview starts nothing. What a preview says of each sandbox kind is
 * test/api/previewSandboxes.test.ts.
 */
import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import { upgradeWorkflowId } from '../../src/domain/upgrade';
import { scriptedSuite } from '../support/scriptedSuite';
import { eventually } from '../support/temporal';
import { call, makeTargets, testConfig, testServer } from './harness';

const suite = scriptedSuite('preview');
const { world } = suite;
let app: FastifyInstance;
const { names: T, targets } = makeTargets({ free: 'emqx', held: 'emqx', refused: 'emqx', gateway: 'kong', same: 'projection' });

beforeAll(async () => {
  app = await testServer(suite.env.client, testConfig(targets, suite.taskQueue));
});
afterAll(() => app?.close());

const body = (target: string, extra: object = {}) => ({ kind: 'emqx', target, version: '5.8.0', reason: 'test', ...extra });
const preview = (b: object, as: 'operator' | 'viewer' = 'operator') => call(app, 'POST', '/v1/upgrades?dryRun=true', { as, body: b });
const start = (b: object, as: 'operator' | 'viewer' = 'operator') => call(app, 'POST', '/v1/upgrades', { as, body: b });
const described = (target: string) =>
  suite.env.client.workflow
    .getHandle(upgradeWorkflowId(target))
    .describe()
    .catch((err: unknown) => (err instanceof WorkflowNotFoundError ? undefined : Promise.reject(err)));

const check = { name: 'mine', provider: 'prometheus', query: 'up', successCondition: 'result == 1' };

describe('a preview is refused as a start is: the same status, the same body', () => {
  test.each<[string, () => object, number, string]>([
    ['a bad option: 400 naming it', () => body(T.refused, { options: { standbyWindow: '10 minutes' } }), 400, 'options.standbyWindow'],
    ['a duration past its bound: 400', () => body(T.refused, { options: { stepTimeouts: { gate: '999d' } } }), 400, 'options.stepTimeouts.gate'],
    ['outside the policy: 403 naming the option', () => body(T.refused, { options: { analysis: [check], verifyAnalysis: ['mine'] } }), 403, 'options.analysis'],
    ['an unsupported version: 400 on field version', () => ({ kind: 'kong', target: T.gateway, version: '3.2.2' }), 400, 'version'],
    ['an unknown target: 400 on field target', () => body('no-such-target'), 400, 'target'],
    ['a kind that is not the target\'s: 400 on field kind', () => body(T.gateway), 400, 'kind'],
  ])('%s', async (_what, make, status, field) => {
    const [previewed, started] = [await preview(make()), await start(make())];
    expect(previewed.status).toBe(status);
    expect(previewed.json.error.field).toBe(field);
    expect(previewed.json).toEqual(started.json);
    expect(started.status).toBe(status);
  });

  test('a viewer: 403, as for a start', async () => {
    const [previewed, started] = [await preview(body(T.refused), 'viewer'), await start(body(T.refused), 'viewer')];
    expect(previewed.status).toBe(403);
    expect(previewed.json).toEqual(started.json);
  });

  test('a held target: 409 naming the upgrade that holds it, as a second start gets', async () => {
    world.hold(T.held, 'waitReady');
    const first = await start(body(T.held));
    expect(first.status).toBe(201);
    const [previewed, second] = [await preview(body(T.held, { version: '5.9.0' })), await start(body(T.held, { version: '5.9.0' }))];
    expect(previewed.status).toBe(409);
    expect(previewed.json).toEqual(second.json);
    expect(previewed.json.error.message).toBe(`target ${T.held} already has an upgrade running: ${first.json.id}; wait for it to end, or roll it back or abort it`);
    await call(app, 'POST', `/v1/upgrades/${first.json.id}/abort`, { as: 'operator', body: { reason: 'done with it' } });
    await eventually(async () => (await described(T.held))?.status.name === 'COMPLETED');
  });

  test('green would be the release blue is: 409 from the plan, which a start meets only once it runs', async () => {
    const res = await preview({ kind: 'projection', target: T.same, version: '1.0.0' });
    expect(res.status).toBe(409);
    expect(res.json.error.message).toBe(`the upgrade of ${T.same} to 1.0.0 would be refused at plan: ${T.same} already runs 1.0.0 (release ${T.same}-1-0-0)`);
  });
});

test('a preview starts nothing: no run under the upgrade id, nothing listed, the target free for a start after it', async () => {
  const res = await preview(body(T.free, { options: { traffic: [{ weight: 20, pause: '1m' }, { weight: 100 }] } }));
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ dryRun: true, target: T.free, version: '5.8.0', requestedBy: 'operator', blue: { name: `${T.free}-1-0-0`, version: '1.0.0', replicas: 1 } });
  // the scripted strategy handles every step but gate and standBy, and undoes what it marks reversible
  expect(res.json.steps.map((s: { step: string }) => s.step)).toEqual(['plan', 'prepare', 'deployGreen', 'waitReady', 'verify', 'gate', 'promote', 'drainBlue', 'standBy', 'finalize', 'cleanUpBlue']);
  expect(res.json.compensations.map((c: { step: string }) => c.step)).toEqual(['drainBlue', 'promote', 'deployGreen', 'prepare']);
  expect(res.json.traffic.steps).toEqual([{ weight: 20, pauseMs: 60_000, analysis: [], approve: false }, { weight: 100, analysis: [], approve: false }]);
  expect(await described(T.free)).toBeUndefined();
  expect((await call(app, 'GET', `/v1/upgrades?target=${T.free}`, { as: 'viewer' })).json.upgrades).toEqual([]);
  // and the preview itself ran on the worker as a workflow of its own, which ended
  const seen: string[] = [];
  await eventually(async () => {
    seen.length = 0;
    for await (const r of suite.env.client.workflow.list({ query: `WorkflowType = 'previewUpgrade' AND WorkflowId STARTS_WITH 'preview-${T.free}-'` })) seen.push(r.status.name);
    return seen.length === 1;
  });
  expect(seen).toEqual(['COMPLETED']);
  expect((await start(body(T.free))).status).toBe(201);
});

test('the OpenAPI lists the preview and its answer', async () => {
  const doc = (await call(app, 'GET', '/docs/json')).json;
  const post = doc.paths['/v1/upgrades'].post;
  expect(post.parameters).toContainEqual(expect.objectContaining({ name: 'dryRun', in: 'query' }));
  expect(Object.keys(post.responses['200'].content['application/json'].schema.properties)).toEqual(
    expect.arrayContaining(['steps', 'traffic', 'gates', 'pointOfNoReturn', 'compensations', 'capacity', 'history']),
  );
});
