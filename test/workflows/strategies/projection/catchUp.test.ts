/**
 * The projection strategy in the shipped workflow on the time-skipping
 * server: a catch-up that takes two hours (of the watch's clock) is one
 * heartbeating activity, so the whole upgrade's history stays small; a
 * processor that stalls fails waitReady at stallTimeout and green's database
 * is dropped on the way back; an Axon store whose token column contradicts the
 * target's tokenStorage fails plan, before anything changes.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSkeletonActivities } from '../../../../src/activities';
import { createProjectionActivities } from '../../../../src/activities/projection';
import { withClient } from '../../../../src/activities/pg';
import { temporalTestServerPath } from '../../../../src/runtime/binaries';
import { PostgresServer } from '../../../../src/sandbox/postgres';
import { ensureSearchAttributes } from '../../../../src/runtime/searchAttributes';
import { releaseName, upgradeWorkflowId, type UpgradeState } from '../../../../src/domain/upgrade';
import type { ProjectionSettings } from '../../../../src/domain/projection/settings';
import type { GivenOptions } from '../../../../src/domain/upgradeSettings';
import { startWorker, uniqueId, upgradeInput, type RunningWorker } from '../../../support/temporal';
import { TEST_STEERING_KEYS } from '../../../support/steering';

const HOUR = 3_600_000;
let env: TestWorkflowEnvironment;
let worker: RunningWorker;
let server: Server;
let pg: PostgresServer;
const MISCONFIGURED = 'spring-boot-3-service';
const taskQueue = uniqueId('projection');
const calls: string[] = [];

/** The watch's clock: each reading of the store is 30 s later; green processes 189 events/s while 50/s are appended. */
const sim = { t: 0, stallAt: Infinity as number };
const HEAD0 = 1_000_000;
function reading() {
  sim.t += 30_000;
  const s = sim.t / 1000;
  const head = HEAD0 + 50 * s;
  return { head, position: Math.min(head, sim.stallAt, 189 * s) };
}

beforeAll(async () => {
  server = createServer((_req, res) => res.end(JSON.stringify(reading())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/catch-up`;
  const parent = mkdtempSync(join(tmpdir(), 'cutover-projection-plan-'));
  chmodSync(parent, 0o755);
  pg = await PostgresServer.start({ dir: join(parent, 'pg') });
  // JpaTokenStore's table as Hibernate 6 creates it (test/fixtures/contracts/axon/4.13/jpa-jackson-oid): the token an oid
  await withClient(pg.url(), async (c) => {
    await c.query('CREATE TABLE domain_event_entry (global_index bigint PRIMARY KEY)');
    await c.query('CREATE TABLE token_entry (segment integer NOT NULL, owner varchar(255), processor_name varchar(255) NOT NULL, timestamp varchar(255) NOT NULL, token_type varchar(255), token oid, PRIMARY KEY (processor_name, segment))');
  });
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: temporalTestServerPath() } } });
  await ensureSearchAttributes(env.connection, 'default');
  const projection = createProjectionActivities({
    access: (target) =>
      target === MISCONFIGURED
        ? { catchUp: { preset: 'axon', naming: 'jpa', tokenStorage: 'bytea' }, eventStoreUrl: pg.url(), databasesUrl: 'unused', rolePasswordSecret: 'unused', processorName: '{release}' }
        : { catchUp: { preset: 'http', url }, databasesUrl: 'unused', rolePasswordSecret: 'unused', processorName: '{release}' },
    now: () => sim.t,
  });
  const record = (name: string) => async (i: { release?: string; green?: { name: string } }) => {
    calls.push(`${name} ${i.release ?? i.green?.name ?? ''}`.trim());
    return name === 'dropReleaseDatabase' ? { database: i.release, dropped: true } : {};
  };
  worker = await startWorker(
    env,
    taskQueue,
    {
      // the platform and the databases as recorded calls; the catch-up watch is the real activity
      readBlueRelease: async ({ target }: { target: string }) => ({ name: `${target}-1-0-0`, version: '1.0.0', image: 'svc:1.0.0', replicas: 1 }),
      ensureGreenWorkload: record('ensureGreenWorkload'),
      waitWorkloadReady: record('waitWorkloadReady'),
      deleteWorkload: record('deleteWorkload'),
      setWeights: async () => ({ changed: true }),
      ensureReleaseDatabase: record('ensureReleaseDatabase'),
      dropReleaseDatabase: record('dropReleaseDatabase'),
      watchCatchUp: projection.watchCatchUp,
      checkCatchUpSource: projection.checkCatchUpSource,
      ...createSkeletonActivities(env.client, TEST_STEERING_KEYS),
    },
    { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! } },
  );
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  await new Promise((r) => server?.close(r));
  await pg?.stop();
});

const input = (settings: Partial<ProjectionSettings>, options: GivenOptions = {}) =>
  upgradeInput({ kind: 'projection', options: { standbyWindowMs: 24 * HOUR, ...options }, settings: { projection: { pollMs: 5, holdMs: 60_000, stallAfterMs: 120_000, ...settings } } });

async function historyLength(workflowId: string): Promise<number> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return history.events?.length ?? 0;
}

test('a two-hour catch-up over 1,000,000 events, then a day of standby: SUCCEEDED with a history under 300 events', async () => {
  sim.t = 0;
  sim.stallAt = Infinity;
  calls.length = 0;
  const i = input({ stallTimeoutMs: 10 * 60_000 });
  const h = await env.client.workflow.start('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(i.target), args: [i] });
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  const catchUp = final.details.catchUp as { lag: number; rate: number; lastSample: { at: number }; summary: string };
  expect(catchUp.lastSample.at).toBeGreaterThanOrEqual(2 * HOUR);
  expect(catchUp.lag).toBeLessThanOrEqual(100);
  expect(catchUp.rate).toBeGreaterThan(40); // caught up: it keeps pace with the appends
  const events = await historyLength(upgradeWorkflowId(i.target));
  console.log(`two-hour catch-up: ${events} history events; ${catchUp.summary}`);
  expect(events).toBeLessThan(300);
  // blue's database goes only at the end, after its workload
  expect(calls.slice(-2)).toEqual([`deleteWorkload ${i.target}-1-0-0`, `dropReleaseDatabase ${i.target}-1-0-0`]);
}, 120_000);

test('a processor that stalls fails waitReady at stallTimeout; green is removed and its database dropped, blue keeps serving', async () => {
  sim.t = 0;
  sim.stallAt = 300_000;
  calls.length = 0;
  const i = input({ stallTimeoutMs: 10 * 60_000 });
  const h = await env.client.workflow.start('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(i.target), args: [i] });
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'waitReady', type: 'ProjectionStalled' });
  expect(final.failure!.message).toMatch(/made no progress since .* \(10m allowed\): position 300000 of \d+/);
  expect(final.releases.blue!.phase).toBe('SERVING');
  expect(final.releases.green!.phase).toBe('OBSOLETE');
  const green = releaseName(i.target, '2.0.0');
  expect(calls).toEqual(expect.arrayContaining([`deleteWorkload ${green}`, `dropReleaseDatabase ${green}`]));
  expect(calls).not.toContain(`dropReleaseDatabase ${i.target}-1-0-0`);
}, 60_000);

test("a token column that contradicts the target's tokenStorage fails plan, naming the setting, before anything changes", async () => {
  calls.length = 0;
  const i = { ...input({ stallTimeoutMs: 10 * 60_000 }), target: MISCONFIGURED };
  const h = await env.client.workflow.start('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(i.target), args: [i] });
  const final = (await h.result()) as UpgradeState;
  // nothing was done, so nothing was undone
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'plan', type: 'CatchUpSourceUnsupported' });
  expect(final.failure!.message).toContain('token_entry.token is oid (a large object: JpaTokenStore\'s @Lob on PostgreSQL, the default with Spring Boot 3), but catchUp.tokenStorage is bytea: set catchUp.tokenStorage to largeObject');
  expect(calls).toEqual([]);
}, 60_000);
