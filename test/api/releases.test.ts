/**
 * What a release and its service token see: phase and weight, the ready
 * report (a workflow update with a validator), 403 for anything else; and a
 * closed run reported as it closed.
 */
import type { FastifyInstance } from 'fastify';
import { MAX_READY_REPORTS } from '../../src/domain/decisions';
import { releaseName, upgradeWorkflowId } from '../../src/domain/upgrade';
import { scriptedSuite } from '../support/scriptedSuite';
import { eventually } from '../support/temporal';
import { call, makeTargets, testConfig, testServer, type Call } from './harness';

const suite = scriptedSuite('releases');
const { world } = suite;
let app: FastifyInstance;
const { names: T, targets } = makeTargets({ ready: 'emqx', other: 'emqx', split: 'emqx', terminated: 'emqx', undo: 'emqx', chatty: 'emqx' });

beforeAll(async () => {
  app = await testServer(suite.env.client, testConfig(targets, suite.taskQueue));
});
afterAll(() => app?.close());

const start = async (target: string, options: object = {}) =>
  (await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'emqx', target, version: '5.8.0', options } })).json.id as string;
const get = async (id: string) => (await call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
const ready = (target: string, release: string, as: Call['as'], body: object = { ready: true, detail: 'caught up' }) =>
  call(app, 'POST', `/v1/targets/${target}/releases/${release}/ready`, { as, body });
const phase = (target: string, release: string, as: Call['as']) =>
  call(app, 'GET', `/v1/targets/${target}/releases/${release}/phase`, { as });

test('report ready: accepted for green while INITIALISING, 409 for blue, 403 for a service token of another target', async () => {
  const id = await start(T.ready, { waitForReadyReport: true });
  const [blue, green] = [`${T.ready}-1-0-0`, releaseName(T.ready, '5.8.0')];
  await eventually(async () => (await get(id)).waitingFor.includes('to report ready'));
  const own = { service: T.ready };

  expect((await phase(T.ready, green, own)).json).toMatchObject({ phase: 'INITIALISING', weight: 0 });
  expect((await phase(T.ready, blue, own)).json).toMatchObject({ phase: 'SERVING', weight: 100 });

  const refused = await ready(T.ready, blue, own);
  expect(refused.status).toBe(409);
  expect(refused.json.error.message).toContain(`${blue} is blue`);

  const foreign = await ready(T.ready, green, { service: T.other });
  expect(foreign.status).toBe(403);
  expect(foreign.json.error.message).toContain(`service token of target ${T.other}`);
  // a service token does nothing else: no upgrade list, no steering, no other target's phase
  expect((await call(app, 'GET', '/v1/upgrades', { as: own })).status).toBe(403);
  expect((await call(app, 'POST', `/v1/upgrades/${id}/rollback`, { as: own, body: { reason: 'x' } })).status).toBe(403);
  expect((await phase(T.other, green, own)).status).toBe(403);

  const accepted = await ready(T.ready, green, own);
  expect(accepted.status).toBe(200);
  expect(accepted.json).toMatchObject({ release: green, ready: true, accepted: true });
  await eventually(async () => (await get(id)).status === 'SUCCEEDED');
  expect((await get(id)).readyReport).toMatchObject({ ready: true, detail: 'caught up', by: `svc-${T.ready}` });
  expect((await ready(T.ready, green, own)).status).toBe(409);
});

test('a repeated report records nothing, not even a history event; a release sends 20 reports at most, then only ready is taken (429)', async () => {
  const id = await start(T.chatty, { waitForReadyReport: true });
  const green = releaseName(T.chatty, '5.8.0');
  await eventually(async () => (await get(id)).waitingFor.includes('to report ready'));
  const own = { service: T.chatty };
  const handle = suite.env.client.workflow.getHandle(upgradeWorkflowId(T.chatty));
  const events = async () => (await handle.fetchHistory()).events!.length;

  const first = await ready(T.chatty, green, own, { ready: false, detail: 'catching up: 10%' });
  expect(first.json).toMatchObject({ accepted: true, recorded: true });
  const before = await events();
  for (let i = 0; i < 5; i++) expect((await ready(T.chatty, green, own, { ready: false, detail: 'catching up: 10%' })).json).toMatchObject({ accepted: true, recorded: false, status: 'RUNNING' });
  expect(await events()).toBe(before);

  for (let i = 2; i <= MAX_READY_REPORTS; i++) expect((await ready(T.chatty, green, own, { ready: false, detail: `catching up: ${i}0%` })).json.recorded).toBe(true);
  const full = await events();
  const past = await ready(T.chatty, green, own, { ready: false, detail: 'catching up: 99%' });
  expect(past.status).toBe(429);
  expect(past.json.error).toMatchObject({ code: 'TOO_MANY_REQUESTS', message: `cannot report ${green} ready: ${green} has sent ${MAX_READY_REPORTS} reports, the most recorded for a release; only one that says ready is still taken` });
  expect(await events()).toBe(full);
  expect((await get(id)).transitions.filter((t: { why: string }) => t.why.startsWith(`${green} reports`))).toHaveLength(MAX_READY_REPORTS);

  expect((await ready(T.chatty, green, own, { ready: true, detail: 'caught up' })).json.recorded).toBe(true);
  await eventually(async () => (await get(id)).status === 'SUCCEEDED');
  expect((await get(id)).readyReport).toMatchObject({ ready: true, reports: MAX_READY_REPORTS + 1 });
});

test('during a split the phase endpoint gives each release its weight', async () => {
  const id = await start(T.split, { traffic: [{ weight: 30, approve: true }, { weight: 100 }] });
  await eventually(async () => (await get(id)).status === 'AWAITING_APPROVAL');
  const viewer = 'viewer' as const;
  expect((await phase(T.split, releaseName(T.split, '5.8.0'), viewer)).json).toMatchObject({ phase: 'SERVING', weight: 30 });
  expect((await phase(T.split, `${T.split}-1-0-0`, viewer)).json).toMatchObject({ phase: 'SERVING', weight: 70 });
  const upgrade = await get(id);
  expect(upgrade.trafficSteps).toEqual([expect.objectContaining({ weight: 30, startedAt: expect.any(String) }), { weight: 100, analysis: [] }]);
});

test('a terminated run shows execution TERMINATED beside its last known state', async () => {
  const id = await start(T.terminated, { approval: 'manual' });
  await eventually(async () => (await get(id)).status === 'AWAITING_APPROVAL');
  expect((await get(id)).execution).toBe('RUNNING');
  await suite.env.client.workflow.getHandle(upgradeWorkflowId(T.terminated)).terminate('skip the rollback on purpose');
  const after = await get(id);
  expect(after).toMatchObject({ execution: 'TERMINATED', status: 'AWAITING_APPROVAL' });
  // visibility catches up within moments; then the list says so, and the run no longer counts as awaiting approval
  const list = async (query: string) => (await call(app, 'GET', `/v1/upgrades?target=${T.terminated}${query}`, { as: 'viewer' })).json.upgrades;
  await eventually(async () => (await list(''))[0]?.execution === 'TERMINATED');
  expect(await list('&status=AWAITING_APPROVAL')).toEqual([]);
});

test('while an undo retries, the upgrade shows its step, attempt count and last error', async () => {
  world.hold(T.undo, 'waitReady');
  world.failUndo(T.undo, 'deployGreen', 'Kubernetes API unavailable', 3);
  const id = await start(T.undo);
  await eventually(async () => (await get(id)).step === 'waitReady');
  await call(app, 'POST', `/v1/upgrades/${id}/rollback`, { as: 'operator', body: { reason: 'drill' } });
  const retrying = await eventually(async () => {
    const u = await get(id);
    return (u.undoing?.attempt ?? 0) >= 2 && u.undoing;
  });
  expect(retrying).toMatchObject({ step: 'deployGreen', activity: 'applyEffect', lastError: 'Kubernetes API unavailable' });
  await eventually(async () => (await get(id)).status === 'ROLLED_BACK');
});
