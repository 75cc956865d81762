/**
 * The kong strategy end to end on the local sandbox: the shipped workflow
 * with the real activities (local platform, Kong, runAnalysis with the kong
 * provider) upgrades two gateway nodes 3.8.0 -> 3.9.0 on a real PostgreSQL
 * while a steady keep-alive load runs through nginx. Automated at a smaller
 * rate than the demo's 200 requests/s.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createAnalysisActivities } from '../../../../src/activities/analysis';
import { createSkeletonActivities } from '../../../../src/activities';
import { kongAnalysisProviders } from '../../../../src/activities/kong/analysisProvider';
import { toAnalysisCheck } from '../../../../src/domain/analysis';
import type { KongCounters } from '../../../../src/domain/kong/metrics';
import { releaseName, upgradeWorkflowId, type TrafficStep, type UpgradeState } from '../../../../src/domain/upgrade';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGatewayNode } from '../../../../src/sandbox/kong/launcher';
import { failRatesFile } from '../../../../src/sandbox/kong/sandbox';
import { startHttpLoad, type HttpLoad } from '../../../../src/sandbox/load/httpLoad';
import { Client } from 'pg';
import { approveUpdate, rollbackUpdate, stateQuery } from '../../../../src/workflows/messages';
import { exec } from '../../../support/activityHarness';
import { fetchOnNewConnection } from '../../../../src/runtime/newConnection';
import { connectSharedServer, eventually, startWorker, uniqueId, upgradeInput, type RunningWorker } from '../../../support/temporal';
import { startKongStack, TARGET, type KongStack } from '../../../support/kongSandboxStack';
import { signedUpdate } from '../../../support/steering';
import { TEST_STEERING_KEYS } from '../../../support/steering';

const BLUE = releaseName(TARGET, '3.8.0');
const GREEN = releaseName(TARGET, '3.9.0');
const RATE = 60;

let env: TestWorkflowEnvironment;
let stack: KongStack | undefined;
let worker: RunningWorker | undefined;
let load: HttpLoad | undefined;

beforeAll(async () => {
  env = await connectSharedServer();
});
afterEach(async () => {
  await load?.stop();
  await worker?.stop();
  await stack?.stop();
  worker = stack = load = undefined;
});
afterAll(() => env?.teardown());

async function start(version?: string): Promise<{ s: KongStack; taskQueue: string }> {
  const s = (stack = await startKongStack({ version }));
  const taskQueue = uniqueId('kong');
  const deps = { targets: () => s.target, sandboxes: new Map([[TARGET, s.sandbox]]), pollMs: 200 };
  const analysis = createAnalysisActivities({ providers: kongAnalysisProviders(deps), heartbeatEveryMs: 1000 });
  worker = await startWorker(env, taskQueue, { ...s.activities, ...analysis, ...createSkeletonActivities(env.client, TEST_STEERING_KEYS) }, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! } });
  return { s, taskQueue };
}

const errorRate = toAnalysisCheck({ name: 'error-rate', provider: 'kong', query: 'error-rate@{{green}}[2s]', successCondition: 'result < 0.05' });
const step = (weight: number, analysis = [errorRate]): TrafficStep => ({ weight, pauseMs: 3000, analysis });
const counters = (s: KongStack, release: string) => exec(s.activities.kongCounters, { target: TARGET, release });
const share = (green: KongCounters, blue: KongCounters) => (100 * green.requests) / Math.max(green.requests + blue.requests, 1);

test('3.8.0 -> 3.9.0 under load: SUCCEEDED, 0 failed requests, the split follows the steps, finish only after approval, the old version broken afterwards', async () => {
  const { s, taskQueue } = await start();
  const proxy = `http://127.0.0.1:${s.ports.proxy}`;
  load = startHttpLoad({ url: `${proxy}/orders`, rate: RATE, connections: 6 });
  const handle = await env.client.workflow.start('blueGreenUpgrade', {
    taskQueue,
    workflowId: upgradeWorkflowId(TARGET),
    args: [
      upgradeInput({
        kind: 'kong',
        target: TARGET,
        version: '3.9.0',
        options: {
          approval: 'auto',
          standbyWindowMs: 500,
          maxAttempts: 3,
          traffic: [step(10), step(50), { weight: 100, analysis: [] }],
          approveBefore: ['finalize'],
        },
        settings: { kong: { smoke: [{ method: 'GET', path: '/health', status: 200 }] } },
      }),
    ],
  });
  const state = () => handle.query(stateQuery);

  // During each weighted step, the split measured from the gateways' own counters.
  const splits: { weight: number; green: number }[] = [];
  for (const weight of [10, 50]) {
    await eventually(async () => (await state()).traffic.green === weight, 60_000);
    // Well inside the step's 3 s pause, so a slow read never runs into the next weight change.
    await new Promise((r) => setTimeout(r, 200));
    const [g0, b0] = await Promise.all([counters(s, GREEN), counters(s, BLUE)]);
    await new Promise((r) => setTimeout(r, 2000));
    const [g1, b1] = await Promise.all([counters(s, GREEN), counters(s, BLUE)]);
    const d = (a: KongCounters, b: KongCounters) => ({ ...a, requests: a.requests - b.requests });
    splits.push({ weight, green: share(d(g1, g0), d(b1, b0)) });
  }

  // An Admin API write during the upgrade is refused, naming it.
  const write = await fetch(`http://127.0.0.1:${s.ports.admin}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'during', url: 'http://127.0.0.1:9' }) });
  expect(write.status).toBe(423);
  expect(((await write.json()) as { message: string }).message).toContain(`${TARGET}.${handle.firstExecutionRunId}`);

  // At the gate before finalize, `finish` has not run: the migrations are pending.
  const waiting = await eventually(async () => {
    const st = await state();
    return st.status === 'AWAITING_APPROVAL' && st;
  }, 60_000);
  expect(waiting.traffic).toEqual({ blue: 0, green: 100 });
  expect((await s.kong.kindPort.runMigrations({ version: '3.9.0', command: 'list' })).exitCode).toBe(4);
  await signedUpdate(handle, approveUpdate, { by: 'alice', reason: 'dashboards green' });
  // From `finish` on, 3.8.0 cannot serve again: a rollback is refused with the reason (the API's 409)
  await eventually(async () => ['finalize', 'cleanUpBlue'].includes((await state()).step ?? ''), 60_000);
  await expect(signedUpdate(handle, rollbackUpdate, { by: 'bob', reason: 'second thoughts' })).rejects.toMatchObject({
    cause: { message: expect.stringContaining('point of no return') },
  });
  const final = (await handle.result()) as UpgradeState;
  const summary = await load.stop();
  load = undefined;

  expect(final.status).toBe('SUCCEEDED');
  expect(final.releases.green).toMatchObject({ name: GREEN, phase: 'SERVING' });
  expect(final.releases.blue).toMatchObject({ name: BLUE, phase: 'OBSOLETE' });
  expect((final.details.migrations as { command: string; list: { exitCode: number } }[]).map((m) => [m.command, m.list.exitCode])).toEqual([
    ['up', 4],
    ['finish', 0],
  ]);
  expect(final.details.backup).toMatchObject({ bytes: expect.any(Number) });
  // Kong 3.8 has no POST /status/ready (405): its nodes, out of the router already, were removed once no request was in flight
  expect(final.details.drained).toEqual([0, 1].map((i) => ({ pod: `${BLUE}-${i}`, version: '3.8.0', draining: 'out of the router', connections: expect.any(Number), inFlight: 0, ended: 'idle' })));
  for (const sp of splits) expect(Math.abs(sp.green - sp.weight)).toBeLessThanOrEqual(5);
  expect(summary.failed).toBe(0);
  expect(summary.byStatus).toEqual({ '200': summary.requests });
  expect(summary.requests).toBeGreaterThan(RATE * 10);

  // Afterwards: writes work again, and the old version started against the finished schema is not ready.
  expect((await fetch(`http://127.0.0.1:${s.ports.admin}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'after', url: 'http://127.0.0.1:9' }) })).status).toBe(201);
  const old = await startGatewayNode({ name: 'old-again', version: '3.8.0', db: s.kong.database, logDir: s.dataDir });
  try {
    const ready = await fetch(`${old.statusUrl}/status/ready`);
    expect(ready.status).toBe(503);
  } finally {
    await old.stop();
  }
  process.stdout.write(`kong upgrade under load: ${JSON.stringify({ ...summary, splits })}\n`);
}, 180_000);

test('a new version failing 20% (set as the demo does) breaks the analysis at the 10% step and rolls back by itself; migrations stay pending and blue never failed', async () => {
  const { s, taskQueue } = await start();
  writeFileSync(failRatesFile(join(s.dataDir, 'sandbox', TARGET, 'state.json')), JSON.stringify({ '3.9.0': 0.2 }));
  load = startHttpLoad({ url: `http://127.0.0.1:${s.ports.proxy}/orders`, rate: RATE, connections: 6 });
  const handle = await env.client.workflow.start('blueGreenUpgrade', {
    taskQueue,
    workflowId: upgradeWorkflowId(TARGET),
    args: [upgradeInput({ kind: 'kong', target: TARGET, version: '3.9.0', options: { approval: 'auto', maxAttempts: 3, traffic: [step(10), step(50), { weight: 100, analysis: [] }], approveBefore: ['finalize'] } })],
  });
  const final = (await handle.result()) as UpgradeState;
  const blueAfter = await counters(s, BLUE);
  const summary = await load.stop();
  load = undefined;

  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure?.message).toMatch(/analysis error-rate failed at traffic step 1 of 3 \(green 10%\)/);
  expect(final.trafficSteps?.map((t) => t.startedAt !== undefined)).toEqual([true, false, false]);
  const sandboxState = await s.sandbox.read((st) => st);
  expect(sandboxState.service).toBe(BLUE);
  expect(sandboxState.weights).toBeUndefined();
  expect(Object.keys(sandboxState.releases)).toEqual([BLUE]);
  expect((await s.kong.kindPort.runMigrations({ version: '3.9.0', command: 'list' })).exitCode).toBe(4);
  expect((await fetchOnNewConnection(`http://127.0.0.1:${s.ports.proxy}/after`)).headers.get('via')).toBe('1.1 kong/3.8.0');
  // Every failed request was green's, inside its 10% slice: blue answered all of its own.
  expect(blueAfter.errors).toBe(0);
  expect(summary.failed).toBeGreaterThan(0);
  expect(summary.failed).toBeLessThan(summary.requests * 0.1 * 0.2 * 2);
  // and by the answers' Via header: every failed request was answered 500 by 3.9.0
  expect(summary.byVia['1.1 kong/3.9.0']!.failed).toBe(summary.failed);
  expect(summary.byVia['1.1 kong/3.8.0']!.failed).toBe(0);
  process.stdout.write(`kong rollback by analysis: ${JSON.stringify(summary)}\n`);
}, 180_000);

test("a 'finish' left pending by an earlier upgrade is refused at plan with nothing changed, and finished first with finishPending", async () => {
  const { s: k, taskQueue } = await start('3.9.0');
  // An earlier upgrade to 3.9.0 whose `finish` never ran (Helm's post-upgrade hook turned off, say): 3.9.0 serves on a pending schema.
  const c = new Client({ host: '127.0.0.1', port: k.ports.postgres, user: 'cutover', password: k.kong.database.password, database: 'kong' });
  await c.connect();
  await c.query(`UPDATE schema_meta SET executed = array_remove(executed, '001_380_to_390'), pending = '{001_380_to_390}'`);
  await c.end();
  const before = await k.sandbox.read((st) => st);
  const upgrade = (finishPending: boolean) =>
    env.client.workflow.execute('blueGreenUpgrade', {
      taskQueue,
      workflowId: upgradeWorkflowId(TARGET),
      args: [upgradeInput({ kind: 'kong', target: TARGET, version: '3.9.1', options: { approval: 'auto', maxAttempts: 2, approveBefore: [] }, settings: { kong: { finishPending, backup: false } } })],
    }) as Promise<UpgradeState>;

  const refused = await upgrade(false);
  expect(refused.status).not.toBe('SUCCEEDED');
  expect(refused.failure).toMatchObject({ step: 'plan', message: expect.stringContaining("run 'kong migrations finish' with Kong 3.9.0") });
  expect(await k.sandbox.read((st) => st)).toEqual(before);
  expect((await k.kong.kindPort.runMigrations({ version: '3.9.0', command: 'list' })).exitCode).toBe(4);
  const write = await fetch(`http://127.0.0.1:${k.ports.admin}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'still-writable', url: 'http://127.0.0.1:9' }) });
  expect(write.status).toBe(201);

  const finished = await upgrade(true);
  expect(finished.failure).toBeUndefined();
  expect(finished.status).toBe('SUCCEEDED');
  expect((finished.details.migrations as { command: string; version: string }[]).map((m) => `${m.command} ${m.version}`)).toEqual(['finish 3.9.0']);
  // Kong 3.9's nodes took POST /status/ready {"status":"draining"} (204) before they were removed
  expect(finished.details.drained).toEqual([0, 1].map((i) => expect.objectContaining({ pod: `${releaseName(TARGET, '3.9.0')}-${i}`, version: '3.9.0', draining: 'POST /status/ready', ended: 'idle' })));
  expect((await k.kong.kindPort.runMigrations({ version: '3.9.1', command: 'list' })).exitCode).toBe(0);
}, 180_000);

test('a plan for Kong 3.2 is refused with the version, what it lacks and what to do, and nothing changed: no freeze, no migration, no workload', async () => {
  const { s: k, taskQueue } = await start('3.2.2');
  const before = await k.sandbox.read((st) => st);
  const refused = (await env.client.workflow.execute('blueGreenUpgrade', {
    taskQueue,
    workflowId: upgradeWorkflowId(TARGET),
    args: [upgradeInput({ kind: 'kong', target: TARGET, version: '3.9.0', options: { approval: 'auto', maxAttempts: 2, approveBefore: [] } })],
  })) as UpgradeState;
  expect(refused.status).not.toBe('SUCCEEDED');
  expect(refused.failure).toEqual({
    step: 'plan',
    type: 'Unsupported',
    message:
      "the release serving now runs Kong 3.2.2, which is older than what cutover supports, Kong 3.4 (LTS) to 3.9: Kong 3.2.2 has no GET /status/ready (Kong 3.3 and later), by which cutover tells that a node is ready; " +
      "upgrade it to Kong 3.4 with Kong's own runbook first ('kong migrations up', the new nodes, then 'kong migrations finish'), then upgrade with cutover",
  });
  expect(await k.sandbox.read((st) => st)).toEqual(before);
  expect((await k.kong.kindPort.runMigrations({ version: '3.9.0', command: 'list' })).exitCode).toBe(5);
  const c = new Client({ host: '127.0.0.1', port: k.ports.postgres, user: 'cutover', password: k.kong.database.password, database: 'kong' });
  await c.connect();
  expect((await c.query(`SELECT to_regclass('cutover_admin_freeze') AS t`)).rows[0].t).toBeNull();
  await c.end();
}, 180_000);

test('an Admin API write that bypasses the freeze is caught by the fingerprint before finish: the upgrade waits for a person', async () => {
  const { s, taskQueue } = await start();
  const handle = await env.client.workflow.start('blueGreenUpgrade', {
    taskQueue,
    workflowId: upgradeWorkflowId(TARGET),
    args: [upgradeInput({ kind: 'kong', target: TARGET, version: '3.9.0', options: { approval: 'auto', maxAttempts: 2, approveBefore: ['finalize'] }, settings: { kong: { backup: false } } })],
  });
  const awaiting = async (text: string) =>
    eventually(async () => {
      const st = await handle.query(stateQuery);
      return st.status === 'AWAITING_APPROVAL' && st.waitingFor.includes(text) && st;
    }, 90_000);
  await awaiting('finalize is the point of no return');
  // Straight to a node's Admin API, around the freeze router.
  const adminPort = await s.sandbox.read((st) => st.releases[GREEN].ports[0].admin);
  const bypass = await fetch(`http://127.0.0.1:${adminPort}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bypass', url: 'http://127.0.0.1:9' }) });
  expect(bypass.status).toBe(201);
  await signedUpdate(handle, approveUpdate, { by: 'alice', reason: 'go on' });

  const paused = await awaiting('configuration changed');
  expect(paused.details.configurationChanged).toMatchObject({ before: 'finalize', rows: { services: 2 } });
  expect((await s.kong.kindPort.runMigrations({ version: '3.9.0', command: 'list' })).exitCode).toBe(4); // finish has not run
  await signedUpdate(handle, approveUpdate, { by: 'alice', reason: 'the write was mine and is fine' });
  const final = (await handle.result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  expect((await s.kong.kindPort.runMigrations({ version: '3.9.0', command: 'list' })).exitCode).toBe(0);
}, 180_000);
