/**
 * Kong's migrations on Kubernetes, on the suite's real control plane: each
 * command a Job with the green image, the command and the database settings
 * (the password from the Secret reference); the real Job controller and a
 * test kubelet that runs the pod's command with the sandbox gateway's CLI
 * against a real PostgreSQL, so exit codes, logs and `list` are Kong's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, type V1Job } from '@kubernetes/client-node';
import { Client } from 'pg';
import { createKongActivities, type KongActivities } from '../../src/activities/kong';
import { migrationJobName } from '../../src/activities/kong/kubernetes';
import { targetLookup } from '../../src/config/targets';
import type { PostgresServer } from '../../src/sandbox/postgres';
import { runMigrationsProcess, type KongDatabase } from '../../src/sandbox/kong/launcher';
import { exec, failure, run } from '../support/activityHarness';
import { TestNamespace } from '../support/kube';
import { MigrationKubelet } from '../support/migrationKubelet';
import { anotherNodeHoldsTheLock, kongDatabase, startPostgres } from './pg';

const TARGET = 'edge-gateway';
const SECRET = { name: 'kong-postgres', key: 'password' };

let pg: PostgresServer;
let pgDir: string;
let databases = 0;
beforeAll(async () => {
  ({ pg, dir: pgDir } = await startPostgres());
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(pgDir, { recursive: true, force: true });
});

let ns: TestNamespace;
let kubelet: MigrationKubelet;
let db: KongDatabase;
let logDir: string;
let a: KongActivities;
let batch: BatchV1Api;

beforeEach(async () => {
  ns = await TestNamespace.create('kong');
  db = await kongDatabase(pg, `kong_k8s_${++databases}`);
  // Kong 3.8.0 serves today: its schema is bootstrapped
  expect((await runMigrationsProcess({ version: '3.8.0', command: 'bootstrap', db })).exitCode).toBe(0);
  await ns.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: SECRET.name }, stringData: { [SECRET.key]: db.password } } });
  logDir = mkdtempSync(join(tmpdir(), 'cutover-kubelet-'));
  kubelet = new MigrationKubelet(ns.kubeConfig(), ns.name, logDir).start();
  batch = ns.kubeConfig().makeApiClient(BatchV1Api);
  a = createKongActivities({
    targets: targetLookup([
      {
        name: TARGET,
        kind: 'kong',
        kubernetes: { namespace: ns.name, workload: { kind: 'Deployment', name: 'kong' }, service: 'kong-proxy' },
        kong: {
          database: { host: db.host, port: db.port, database: db.database, user: db.user, password: { env: 'EDGE_PG_PASSWORD' }, passwordSecret: SECRET },
          image: 'kong/kong-gateway',
        },
      },
    ]),
    env: { EDGE_PG_PASSWORD: db.password },
    kubeConfigFor: () => ns.kubeConfig(),
    pollMs: 100,
  });
}, 60_000);

afterEach(async () => {
  await kubelet.stop();
  await ns.delete();
  rmSync(logDir, { recursive: true, force: true });
});

const jobs = async (): Promise<V1Job[]> => (await batch.listNamespacedJob({ namespace: ns.name })).items;
const jobCreates = () => ns.writes().filter((r) => r.method === 'POST' && r.path.endsWith('/jobs'));
const sql = async (text: string): Promise<void> => {
  const c = new Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
  await c.connect();
  await c.query(text);
  await c.end();
};

test('up runs as a Job of the green image with the database settings from the Secret; its completion awaited, its exit code and log kept; list confirms it pending, then done after finish', async () => {
  const up = run(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' });
  const record = await up.result;
  expect(record).toMatchObject({ command: 'up', version: '3.9.0', ran: true, exitCode: 0, list: { exitCode: 4, meaning: expect.stringMatching(/pending/) } });
  expect(record.output).toEqual([`job ${ns.name}/${migrationJobName(TARGET, 'up', '3.9.0')}`, 'core migrated up to: 001_380_to_390 (pending)', '1 migration processed']);
  // the wait heartbeat while the Job ran
  expect(up.heartbeats).toContainEqual({ job: migrationJobName(TARGET, 'up', '3.9.0'), active: 1, succeeded: 0, failed: 0 });
  // followed by watch, not by reading it again: one GET of each Job per run, one watch per wait (the second `list` replaced the
  // first one's Complete Job: a watch until it was gone, then one until its own Job completed)
  const follows = (command: 'up' | 'list') => {
    const name = migrationJobName(TARGET, command, '3.9.0');
    const jobRequests = ns.requests.filter((r) => r.method === 'GET' && r.path.startsWith(`/apis/batch/v1/namespaces/${ns.name}/jobs`));
    return {
      reads: jobRequests.filter((r) => r.path.endsWith(`/jobs/${name}`)).length,
      watches: jobRequests.filter((r) => r.query.watch === 'true' && r.query.fieldSelector === `metadata.name=${name}`).length,
    };
  };
  expect(follows('up')).toEqual({ reads: 1, watches: 1 });
  expect(follows('list')).toEqual({ reads: 2, watches: 3 });

  // What ran: list (new migrations), up, list (pending), each a pod of its Job, as the kubelet saw it.
  const env = { KONG_DATABASE: 'postgres', KONG_PG_HOST: '127.0.0.1', KONG_PG_PORT: String(db.port), KONG_PG_DATABASE: db.database, KONG_PG_USER: db.user, KONG_PG_PASSWORD: db.password };
  expect(kubelet.runs.map((r) => [r.image, r.command.join(' '), r.exitCode])).toEqual([
    ['kong/kong-gateway:3.9.0', 'kong migrations list', 5],
    ['kong/kong-gateway:3.9.0', 'kong migrations up', 0],
    ['kong/kong-gateway:3.9.0', 'kong migrations list', 4],
  ]);
  for (const r of kubelet.runs) expect(r.env).toEqual(env);
  // the password only as the Secret reference in what cutover sent
  const upJob = (await jobs()).find((j) => j.metadata!.name === migrationJobName(TARGET, 'up', '3.9.0'))!;
  expect(upJob.spec!.template.spec!.containers[0].env).toContainEqual({ name: 'KONG_PG_PASSWORD', valueFrom: { secretKeyRef: SECRET } });
  expect(JSON.stringify(jobCreates())).not.toContain(db.password);
  expect(upJob.status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');

  // finish: list says up to date (exit 0; its Job Complete)
  const finish = await exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'finish' });
  expect(finish).toMatchObject({ ran: true, exitCode: 0, list: { exitCode: 0 } });
  expect(finish.output.slice(1)).toEqual(['core migrated up to: 001_380_to_390 (executed)', '1 migration processed']);
  const state = await exec(a.readKongMigrations, { target: TARGET, blueVersion: '3.8.0', greenVersion: '3.9.0' });
  expect(state.green).toMatchObject({ needs_bootstrap: false, pending_migrations: [], executed_migrations: ['000_base', '001_380_to_390'] });
}, 120_000);

test('a retried up (the worker of its first attempt gone while the Job ran) finds the running Job instead of starting a second', async () => {
  const name = migrationJobName(TARGET, 'up', '3.9.0');
  // The first attempt's worker dies while the Job runs: the kubelet holds the command until the retry is waiting too.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  kubelet.beforeRun = async (pod) => {
    if (pod.metadata!.name!.startsWith(`${name}-`)) await held;
  };
  const first = run(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' });
  await ns.until(async () => (await jobs()).some((j) => j.metadata!.name === name));
  first.env.cancel();
  await first.result.catch(() => undefined);
  const retry = run(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' });
  await ns.until(async () => retry.heartbeats.some((h) => (h as { job?: string }).job === name));
  release();
  expect(await retry.result).toMatchObject({ ran: true, exitCode: 0, list: { exitCode: 4 } });
  expect(jobCreates().filter((r) => (r.body as V1Job).metadata!.name === name)).toHaveLength(1);
  expect(kubelet.runs.filter((r) => r.command[2] === 'up')).toHaveLength(1);

}, 120_000);

test('a failed Job: the exit code of its pod and its log in the failure; the retry replaces it; a pod left by an earlier Job of the same name is not read', async () => {
  const name = migrationJobName(TARGET, 'up', '3.9.0');
  const upJob = async () => (await jobs()).find((j) => j.metadata!.name === name)!;
  // a schema 3.9.0's `up` does not expect: its migration fails, the container exits 1
  await sql('ALTER TABLE services ADD COLUMN url integer');
  const failed = await failure(exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' }));
  expect(failed.type).toBe('MigrationFailed');
  expect(failed.message).toMatch(/kong migrations up \(Kong 3.9.0\) exited 1: .*Error: migration 001_380_to_390 failed: column "url" is of type integer/);
  expect(failed.details?.[0]).toMatchObject({ ran: true, exitCode: 1, list: { exitCode: 5 } });
  const first = await upJob();
  expect(first.status?.conditions?.find((c) => c.type === 'Failed')?.status).toBe('True');

  // the retry deletes the failed Job (and its pod) and runs a new one
  await failure(exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' }));
  const second = await upJob();
  expect(second.metadata!.uid).not.toBe(first.metadata!.uid);
  expect(await ns.pods(`job-name=${name}`)).toHaveLength(1);

  // someone deletes that Job leaving its failed pod (kubectl delete --cascade=orphan); the next Job's result is its own pod's
  await batch.deleteNamespacedJob({ name, namespace: ns.name, propagationPolicy: 'Orphan' });
  await ns.until(async () => !(await jobs()).some((j) => j.metadata!.name === name));
  await sql('ALTER TABLE services DROP COLUMN url');
  const up = await exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' });
  expect(up).toMatchObject({ ran: true, exitCode: 0, list: { exitCode: 4 } });
  expect(up.output.slice(1)).toEqual(['core migrated up to: 001_380_to_390 (pending)', '1 migration processed']);
  expect((await ns.pods(`job-name=${name}`)).map((p) => p.status?.phase)).toEqual(expect.arrayContaining(['Failed', 'Succeeded']));
  expect((await upJob()).status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');
  expect(kubelet.runs.filter((r) => r.command[2] === 'up').map((r) => r.exitCode)).toEqual([1, 1, 0]);
}, 120_000);

test('the lock trap: another node holds the lock, up exits 0 without migrating, list catches it; the retry runs up anew', async () => {
  const [trapped] = await Promise.all([failure(exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' })), anotherNodeHoldsTheLock(db)]);
  expect(trapped.type).toBe('MigrationsNotApplied');
  expect(trapped.nonRetryable).toBeFalsy();
  expect(trapped.message).toMatch(/exited 0 but 'list' says new migrations available \(aborted: another node is performing database changes\)/);
  expect(trapped.details?.[0]).toMatchObject({ exitCode: 0, output: [expect.stringMatching(/^job /), 'aborted: another node is performing database changes'] });
  // the Job Complete, yet nothing migrated: the retry does not take that Job's word for it
  expect(await exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' })).toMatchObject({ ran: true, exitCode: 0, list: { exitCode: 4 } });
  expect(kubelet.runs.filter((r) => r.command[2] === 'up').map((r) => r.output)).toEqual([['aborted: another node is performing database changes'], ['core migrated up to: 001_380_to_390 (pending)', '1 migration processed']]);
}, 120_000);

test('where a pod\'s log is gone, the result says so: the exit code still from the pod, the reason, and the termination message a kubelet keeps of a failed container', async () => {
  kubelet.keepLogs = false;
  await sql('ALTER TABLE services ADD COLUMN url integer');
  const failed = await failure(exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' }));
  expect(failed.details?.[0]).toMatchObject({ exitCode: 1, list: { exitCode: 5 } });
  const output = (failed.details?.[0] as { output: string[] }).output;
  expect(output[1]).toMatch(/^log of pod edge-gateway-migrations-up-3-9-0-\w+ unavailable \(HTTP 400: no logs found for container "kong-migrations" in pod ".+"\); its termination message:$/);
  expect(output[2]).toMatch(/^Error: migration 001_380_to_390 failed: column "url" is of type integer/);
  // `status` prints its JSON to the log only: without it, plan cannot read the schema, and says why
  const status = await exec(a.readKongMigrations, { target: TARGET, blueVersion: '3.8.0', greenVersion: '3.9.0' }).catch((e: Error) => e);
  expect(String(status)).toMatch(/kong migrations status \(Kong 3\.\d\.0\) printed no JSON: .*log of pod .* unavailable \(HTTP 400: no logs found/);
}, 120_000);

test('a Job name over 63 characters keeps its start and a hash, so up and finish never share one', () => {
  const long = 'a-very-long-target-name-of-the-gateway-e';
  const up = migrationJobName(long, 'up', '3.10.0-rc.1');
  const finish = migrationJobName(long, 'finish', '3.10.0-rc.1');
  expect(up.length).toBeLessThanOrEqual(63);
  expect(finish.length).toBeLessThanOrEqual(63);
  expect(up).not.toBe(finish);
  expect(up.startsWith(`${long}-migrations-up`)).toBe(true);
  expect(migrationJobName(TARGET, 'up', '3.9.0')).toBe('edge-gateway-migrations-up-3-9-0');
});

test("a Job carries the upgrade that ran it; a Job of the command's name that is not the target's is never replaced: the command fails naming its owner", async () => {
  const up = migrationJobName(TARGET, 'up', '3.9.0');
  // someone's own Job of that name, finished long ago (suspended: it never ran)
  const theirs = await batch.createNamespacedJob({
    namespace: ns.name,
    body: { metadata: { name: up }, spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'theirs:1' }] } } } },
  });
  const refused = await failure(exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' }));
  expect(refused.message).toContain(`job ${ns.name}/${up} carries no owner mark: it was not created by cutover for target '${TARGET}'; cutover leaves it as it is`);
  expect((await jobs()).find((j) => j.metadata!.name === up)!.metadata!.uid).toBe(theirs.metadata!.uid);
  // the Jobs cutover did make (its `list` before `up`) say whose they are
  const ours = (await jobs()).filter((j) => j.metadata!.name !== up);
  expect(ours.length).toBeGreaterThan(0);
  for (const j of ours) {
    expect(j.metadata!.labels).toMatchObject({ 'cutover.io/target': TARGET, 'app.kubernetes.io/managed-by': 'cutover' });
    expect(j.metadata!.annotations!['cutover.io/upgrade']).toMatch(new RegExp(`^${TARGET}\\.`));
  }
}, 120_000);
