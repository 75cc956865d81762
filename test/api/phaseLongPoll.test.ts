/**
 * The phase long poll on the dev server: many services waiting on one target
 * are answered as soon as their phase changes, by one shared poller of the
 * workflow's state query, and at their deadline when nothing changes; a
 * release that no upgrade names yet is waited for too.
 */
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { releaseName } from '../../src/domain/upgrade';
import { ScriptedWorld } from '../support/scriptedWorld';
import { connectSharedServer, eventually, startWorker, uniqueId, type RunningWorker } from '../support/temporal';
import { call, makeTargets, testConfig, testServer, TOKENS } from './harness';

let env: TestWorkflowEnvironment;
let worker: RunningWorker;
let app: FastifyInstance;
const world = new ScriptedWorld();
const taskQueue = uniqueId('longpoll');
const { names: T, targets } = makeTargets({ many: 'projection', quiet: 'projection', still: 'projection', fresh: 'projection' });

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

const phaseUrl = (target: string, release: string, query = '') => `/v1/targets/${target}/releases/${release}/phase${query}`;
const metric = async (name: string, target: string) => {
  const text = (await call(app, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{target="${target}"}`));
  return line ? Number(line.split(' ')[1]) : 0;
};
const reads = (target: string) => metric('cutover_phase_watch_reads_total', target);
/** The shared poller's interval (PhaseWatch's default). */
const POLL_MS = 200;

test('fifty services waiting on one target are answered at the change, before their deadline, by one shared poller', async () => {
  const hold = world.hold(T.many, 'waitReady');
  const started = await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: T.many, version: '2.0.0' } });
  // a target where nothing changes: its long poll, asked with the same deadline, answers only at that deadline
  const stillHold = world.hold(T.still, 'waitReady');
  await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: T.still, version: '2.0.0' } });
  await eventually(async () => hold.started() && stillHold.started());
  const green = releaseName(T.many, '2.0.0');

  const answeredAt: number[] = [];
  const waitFrom = Date.now();
  const waits = Array.from({ length: 50 }, () =>
    call(app, 'GET', phaseUrl(T.many, green, '?waitForChange=30s'), { as: 'viewer' }).then((r) => {
      answeredAt.push(Date.now());
      return r;
    }),
  );
  const deadline = call(app, 'GET', phaseUrl(T.still, `${T.still}-1-0-0`, '?waitForChange=30s'), { as: 'viewer' });
  await eventually(async () => (await metric('cutover_phase_watch_waiters', T.many)) === 50);
  await new Promise((r) => setTimeout(r, 1000)); // the poller reads on while nothing changes
  expect(answeredAt).toHaveLength(0);
  // one poller: at most one read per interval however many wait (fifty pollers would read fifty times as often)
  expect(await reads(T.many)).toBeLessThanOrEqual(Math.ceil((Date.now() - waitFrom) / POLL_MS) + 1);

  // projection upgrades wait for green's own ready report, then promote
  hold.release();
  await eventually(async () => (await call(app, 'GET', `/v1/upgrades/${started.json.id}`, { as: 'viewer' })).json.waitingFor?.includes('to report ready'));
  const changedAt = Date.now();
  const ready = await call(app, 'POST', `/v1/targets/${T.many}/releases/${green}/ready`, { as: 'operator', body: { ready: true, detail: 'caught up' } });
  expect(ready.status).toBe(200);
  // all fifty answered by the change: before the long poll that waits out the same deadline (figures: npm run bench, reaction)
  expect(await Promise.race([Promise.all(waits).then(() => 'the change'), deadline.then(() => 'the deadline')])).toBe('the change');
  const answers = await Promise.all(waits);
  for (const a of answers) {
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ release: green, role: 'green', upgradeId: started.json.id });
    expect(a.json.phase).not.toBe('INITIALISING');
  }
  expect(Math.min(...answeredAt)).toBeGreaterThanOrEqual(changedAt);
  stillHold.release();
  await eventually(async () => (await call(app, 'GET', `/v1/upgrades/${started.json.id}`, { as: 'viewer' })).json.status === 'SUCCEEDED');

  // a service that knows an older phase is answered at once
  const stale = await call(app, 'GET', phaseUrl(T.many, green, '?waitForChange=30s&phase=INITIALISING'), { as: 'viewer' });
  expect(stale.json.phase).toBe('SERVING');
});

test('with no change, the answer comes at the deadline with the phase as it is; bad waits are refused', async () => {
  const hold = world.hold(T.quiet, 'waitReady');
  await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: T.quiet, version: '2.0.0' } });
  await eventually(async () => hold.started());
  const began = Date.now();
  const r = await call(app, 'GET', phaseUrl(T.quiet, `${T.quiet}-1-0-0`, '?waitForChange=1s'), { as: 'viewer' });
  expect(Date.now() - began).toBeGreaterThanOrEqual(950);
  expect(r.json).toMatchObject({ role: 'blue', phase: 'SERVING' });

  const tooLong = await call(app, 'GET', phaseUrl(T.quiet, `${T.quiet}-1-0-0`, '?waitForChange=2m'), { as: 'viewer' });
  expect(tooLong.status).toBe(400);
  expect(tooLong.json.error).toMatchObject({ field: 'waitForChange', message: 'waitForChange must be at most 60s' });
  const notADuration = await call(app, 'GET', phaseUrl(T.quiet, `${T.quiet}-1-0-0`, '?waitForChange=soon'), { as: 'viewer' });
  expect(notADuration.status).toBe(400);
  expect(notADuration.json.error.field).toBe('waitForChange');
  hold.release();
});

test('while no upgrade names the release, the long poll waits: answered when an upgrade names it, 404 at its deadline if none does', async () => {
  const blue = `${T.fresh}-1-0-0`;
  // without a wait, at once
  expect((await call(app, 'GET', phaseUrl(T.fresh, blue), { as: 'viewer' })).status).toBe(404);
  let answered = false;
  const waiting = call(app, 'GET', phaseUrl(T.fresh, blue, '?waitForChange=30s'), { as: 'viewer' }).finally(() => (answered = true));
  const never = call(app, 'GET', phaseUrl(T.fresh, 'nope', '?waitForChange=1s'), { as: 'viewer' });
  await eventually(async () => (await metric('cutover_phase_watch_waiters', T.fresh)) === 2);
  const missing = await never;
  expect([missing.status, missing.json.error.message]).toEqual([404, `no upgrade of ${T.fresh} has run yet`]);
  // a second on, still waiting (it used to be a 404 at once, asked again every second)
  expect(answered).toBe(false);

  const hold = world.hold(T.fresh, 'waitReady');
  const started = await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: T.fresh, version: '2.0.0' } });
  const r = await waiting;
  expect([r.status, r.json]).toEqual([200, expect.objectContaining({ release: blue, role: 'blue', phase: 'SERVING', upgradeId: started.json.id })]);
  hold.release();
});

test('a server closing answers its long polls at once instead of waiting for their deadline', async () => {
  const closing = await testServer(env.client, testConfig(targets, taskQueue));
  await closing.listen({ host: '127.0.0.1', port: 0 });
  const { port } = closing.server.address() as { port: number };
  const waiting = fetch(`http://127.0.0.1:${port}${phaseUrl(T.fresh, 'nope', '?waitForChange=30s')}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
  await eventually(async () => (await call(closing, 'GET', '/metrics')).text.includes(`cutover_phase_watch_waiters{target="${T.fresh}"} 1`));
  const deadline = new Promise((r) => setTimeout(() => r('the deadline'), 30_000).unref());
  expect(await Promise.race([closing.close().then(() => 'the close'), deadline])).toBe('the close');
  expect((await waiting).status).toBe(404);
});
