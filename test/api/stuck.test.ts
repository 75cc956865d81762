/**
 * A run whose workflow task keeps failing (here: a handler of the test
 * bundle that throws a plain Error, as a RangeError outside any step did)
 * cannot answer the state query and takes no request. The API says so:
 * execution STUCK with the failure and since when, the state the workflow
 * last published, 409 with what to do for every steering request, the
 * metric and a log line.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server';
import { releaseName, upgradeWorkflowId } from '../../src/domain/upgrade';
import { scriptedSuite } from '../support/scriptedSuite';
import { eventually, upgradeState } from '../support/temporal';
import { wedgeSignal } from '../support/workflows';
import { call, makeTargets, testConfig } from './harness';

const suite = scriptedSuite('stuck');
const { names: T, targets } = makeTargets({ wedged: 'emqx' });
let app: FastifyInstance;
const logs: { level: number; msg: string; upgrade?: string }[] = [];

beforeAll(async () => {
  const sink = new Writable({ write: (chunk, _enc, done) => (logs.push(JSON.parse(String(chunk))), done()) });
  app = await buildServer({ client: suite.env.client, config: testConfig(targets, suite.taskQueue), logger: pino({ level: 'info' }, sink), stuckCheckMs: 300 });
});
afterAll(() => app?.close());

test('a stuck run: STUCK with its failure and since when, its last state, 409 for steering with what to do, a metric and a log line; terminated, it shows its last state', async () => {
  const started = await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'emqx', target: T.wedged, version: '5.8.0', options: { approval: 'manual' } } });
  const id: string = started.json.id;
  const h = suite.env.client.workflow.getHandle(upgradeWorkflowId(T.wedged), started.json.runId);
  await eventually(async () => (await upgradeState(h)).status === 'AWAITING_APPROVAL');
  const before = (await call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
  expect(before.execution).toBe('RUNNING');

  const sent = new Date().toISOString();
  await h.signal(wedgeSignal, 'Invalid time value');
  const view = await eventually(async () => {
    const r = await call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' });
    return r.json.execution === 'STUCK' && r;
  });
  expect(view.status).toBe(200);
  expect(view.json.stuck).toEqual({ since: expect.any(String), attempts: expect.any(Number), message: 'Invalid time value', cause: 'WORKFLOW_WORKER_UNHANDLED_FAILURE' });
  expect(view.json.stuck.attempts).toBeGreaterThanOrEqual(2);
  expect(Date.parse(view.json.stuck.since)).toBeGreaterThanOrEqual(Date.parse(sent) - 1000);
  // the last state the workflow published: where it waited, both releases, the traffic
  expect(view.json).toMatchObject({
    status: 'AWAITING_APPROVAL',
    step: 'gate',
    waitingFor: expect.stringContaining('approval before promote'),
    traffic: { blue: 100, green: 0 },
    releases: { blue: { name: `${T.wedged}-1-0-0`, phase: 'SERVING' }, green: { name: releaseName(T.wedged, '5.8.0'), phase: 'INITIALISING' } },
  });

  const listed = (await call(app, 'GET', `/v1/upgrades?target=${T.wedged}`, { as: 'viewer' })).json.upgrades;
  expect(listed).toEqual([expect.objectContaining({ id, execution: 'STUCK', stuck: expect.objectContaining({ message: 'Invalid time value' }) })]);

  for (const [action, as] of [['rollback', 'operator'], ['abort', 'operator'], ['approve', 'approver']] as const) {
    const refused = await call(app, 'POST', `/v1/upgrades/${id}/${action}`, { as, body: { reason: 'get it moving' } });
    expect(refused.status).toBe(409);
    expect(refused.json.error.message).toContain(`cannot ${action} ${id}: the upgrade is stuck: its workflow task has failed since ${view.json.stuck.since}`);
    expect(refused.json.error.message).toContain(`temporal workflow terminate --workflow-id ${h.workflowId} --run-id ${started.json.runId}`);
    expect(refused.json.error.message).toContain(`POST /v1/targets/${T.wedged}/cleanup`);
  }

  const metrics = async () => (await call(app, 'GET', '/metrics')).text;
  await eventually(async () => (await metrics()).includes(`cutover_upgrades_stuck{target="${T.wedged}"} 1`));
  expect(logs).toContainEqual(expect.objectContaining({ level: 50, upgrade: id, msg: expect.stringContaining('is stuck: its workflow task has failed since') }));

  await h.terminate('stuck: terminated by the operator');
  const after = await call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' });
  expect(after.status).toBe(200);
  expect(after.json).toMatchObject({ execution: 'TERMINATED', status: 'AWAITING_APPROVAL', releases: { green: { phase: 'INITIALISING' } } });
  await eventually(async () => !(await metrics()).includes(`cutover_upgrades_stuck{target="${T.wedged}"} 1`));
  expect(logs).toContainEqual(expect.objectContaining({ level: 30, upgrade: id, msg: `upgrade ${id} is no longer stuck` }));
});
