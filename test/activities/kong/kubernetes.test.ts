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
import { createKongActivities, type KongActivities } from '../../../src/activities/kong';
import { migrationJobName } from '../../../src/activities/kong/kubernetes';
import { targetLookup } from '../../../src/config/targets';
import type { PostgresServer } from '../../../src/sandbox/postgres';
import { runMigrationsProcess, type KongDatabase } from '../../../src/sandbox/kong/launcher';
import { exec, failure, run } from '../../support/activityHarness';
import { TestNamespace } from '../../support/kube';
import { MigrationKubelet } from '../../support/migrationKubelet';
import { anotherNodeHoldsTheLock, kongDatabase, startPostgres } from '../../support/kongDatabase';

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
  expect(record.output).toEqual([
    `job ${ns.name}/${migrationJobName(TARGET, 'up', '3.9.0')}`,
    `migrating core on database '${db.database}'...`,
    'core migrated up to: 001_380_to_390 (pending)',
    '1 migration processed',
    '1 pending',
    "Database has pending migrations; run 'kong migrations finish' when ready",
  ]);
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
  expect(finish.output.slice(1)).toEqual([`migrating core on database '${db.database}'...`, 'core migrated up to: 001_380_to_390 (executed)', '1 migration processed', '1 executed', 'No pending migrations to finish']);
  const state = await exec(a.readKongMigrations, { target: TARGET, blueVersion: '3.8.0', greenVersion: '3.9.0' });
  expect(state.green).toEqual({ needs_bootstrap: false, executed_migrations: [{ subsystem: 'core', namespace: 'kong.db.migrations.core', migrations: ['000_base', '001_380_to_390'] }] });
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
  expect(failed.nonRetryable).toBe(true);
  expect(failed.message).toMatch(/^kong migrations up \(Kong 3\.9\.0\) failed: \[PostgreSQL error\] failed to run migration '001_380_to_390' up: column "url" is of type integer/);
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
  expect(up.output.slice(2, 4)).toEqual(['core migrated up to: 001_380_to_390 (pending)', '1 migration processed']);
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
  expect(kubelet.runs.filter((r) => r.command[2] === 'up').map((r) => r.output.filter((l) => /aborted|migrated up/.test(l)))).toEqual([
    ['aborted: another node is performing database changes'],
    ['core migrated up to: 001_380_to_390 (pending)'],
  ]);
}, 120_000);

test('where a pod\'s log is gone, the result says so: the exit code still from the pod, the reason, and the termination message a kubelet keeps of a failed container', async () => {
  kubelet.keepLogs = false;
  await sql('ALTER TABLE services ADD COLUMN url integer');
  const failed = await failure(exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up' }));
  expect(failed.details?.[0]).toMatchObject({ exitCode: 1, list: { exitCode: 5 } });
  const output = (failed.details?.[0] as { output: string[] }).output;
  expect(output[1]).toMatch(/^log of pod edge-gateway-migrations-up-3-9-0-\w+ unavailable \(HTTP 400: no logs found for container "kong-migrations" in pod ".+"\); its termination message:$/);
  expect(output).toContainEqual(expect.stringMatching(/^Error: \[PostgreSQL error\] failed to run migration '001_380_to_390' up: column "url" is of type integer/));
  // `status` prints its JSON to the log only: without it, plan cannot read the schema, and says why
  const status = await exec(a.readKongMigrations, { target: TARGET, blueVersion: '3.8.0', greenVersion: '3.9.0' }).catch((e: Error) => e);
  expect(String(status)).toMatch(/kong migrations status \(Kong 3\.\d\.0\) printed no JSON line: .*log of pod .* unavailable \(HTTP 400: no logs found/);
}, 120_000);

test("the Jobs carry what blue's pods use to reach and extend their database, by reference: its schema (KONG_PG_SCHEMA from a ConfigMap) is where status reads and up migrates", async () => {
  const namespace = ns.name;
  // blue's pods keep Kong's tables in schema 'edge' (bootstrapped by 3.8.0); the public schema holds another, older state
  const edge = { ...db, schema: 'edge' };
  expect((await runMigrationsProcess({ version: '3.8.0', command: 'bootstrap', db: edge })).exitCode).toBe(0);
  expect((await runMigrationsProcess({ version: '3.9.0', command: 'up', db })).exitCode).toBe(0);
  await ns.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'kong-settings' }, data: { KONG_PG_SCHEMA: 'edge', KONG_PLUGINS: 'bundled,my-plugin' } } });
  await ns.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'kong-plugin-my-plugin' }, data: { 'handler.lua': 'return {}' } } });
  await ns.core.createNamespacedSecret({ namespace, body: { metadata: { name: 'pg-ca' }, stringData: { 'ca.crt': '-----BEGIN CERTIFICATE-----' } } });
  await ns.core.createNamespacedSecret({ namespace, body: { metadata: { name: 'kong-license' }, stringData: { license: 'licence-text' } } });
  await ns.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'kong' } } });
  const labels = { 'app.kubernetes.io/name': 'kong' };
  await ns.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'kong', labels },
      spec: {
        replicas: 0,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'kong',
            imagePullSecrets: [{ name: 'regcred' }],
            securityContext: { runAsUser: 1000, fsGroup: 1000 },
            containers: [
              { name: 'ingress-controller', image: 'kong/kubernetes-ingress-controller:3.4', env: [{ name: 'CONTROLLER_KONG_ADMIN_URL', value: 'https://localhost:8444' }] },
              {
                name: 'proxy',
                image: 'kong/kong-gateway:3.8.0',
                envFrom: [{ configMapRef: { name: 'kong-settings' } }],
                env: [
                  { name: 'KONG_PG_HOST', value: 'kong-postgres.kong.svc' },
                  { name: 'KONG_PG_SSL', value: 'on' },
                  { name: 'KONG_PG_SSL_VERIFY', value: 'on' },
                  { name: 'KONG_LUA_SSL_TRUSTED_CERTIFICATE', value: '/etc/secrets/pg-ca/ca.crt' },
                  { name: 'KONG_LUA_PACKAGE_PATH', value: '/opt/?.lua;/opt/?/init.lua;;' },
                  { name: 'KONG_LICENSE_DATA', valueFrom: { secretKeyRef: { name: 'kong-license', key: 'license' } } },
                ],
                volumeMounts: [
                  { name: 'kong-plugin-my-plugin', mountPath: '/opt/kong/plugins/my-plugin', readOnly: true },
                  { name: 'pg-ca', mountPath: '/etc/secrets/pg-ca', readOnly: true },
                  { name: 'cache', mountPath: '/cache' },
                ],
                securityContext: { readOnlyRootFilesystem: true },
              },
            ],
            volumes: [
              { name: 'kong-plugin-my-plugin', configMap: { name: 'kong-plugin-my-plugin' } },
              { name: 'pg-ca', secret: { secretName: 'pg-ca' } },
              { name: 'cache', persistentVolumeClaim: { claimName: 'kong-cache' } },
              { name: 'unmounted', emptyDir: {} },
            ],
          },
        },
      },
    },
  });

  const state = await exec(a.readKongMigrations, { target: TARGET, blueVersion: '3.8.0', greenVersion: '3.9.0', blue: 'kong' });
  // read in schema edge: 3.9.0's migration is new there (in public it is pending)
  expect(state.green).toMatchObject({ new_migrations: [{ subsystem: 'core', migrations: ['001_380_to_390'] }] });
  expect(state.green).not.toHaveProperty('pending_migrations');
  const up = await exec(a.runKongMigrations, { target: TARGET, version: '3.9.0', command: 'up', blue: 'kong' });
  expect(up).toMatchObject({ ran: true, exitCode: 0, list: { exitCode: 4 } });
  expect((await runMigrationsProcess({ version: '3.9.0', command: 'list', db: edge })).exitCode).toBe(4);

  // What cutover wrote, as the API server keeps it: everything by reference, the database settings from the target's config
  const upJob = (await jobs()).find((j) => j.metadata!.name === migrationJobName(TARGET, 'up', '3.9.0'))!;
  const pod = upJob.spec!.template.spec!;
  expect(pod).toMatchObject({ serviceAccountName: 'kong', imagePullSecrets: [{ name: 'regcred' }], securityContext: { runAsUser: 1000, fsGroup: 1000 } });
  expect(pod.volumes!.map((v) => v.name)).toEqual(['kong-plugin-my-plugin', 'pg-ca']);
  const [c] = pod.containers;
  expect(c).toMatchObject({
    name: 'kong-migrations',
    image: 'kong/kong-gateway:3.9.0',
    envFrom: [{ configMapRef: { name: 'kong-settings' } }],
    volumeMounts: [
      { name: 'kong-plugin-my-plugin', mountPath: '/opt/kong/plugins/my-plugin', readOnly: true },
      { name: 'pg-ca', mountPath: '/etc/secrets/pg-ca', readOnly: true },
    ],
    securityContext: { readOnlyRootFilesystem: true },
  });
  expect(c!.env!.map((e) => e.name)).toEqual([
    'KONG_DATABASE',
    'KONG_PG_HOST',
    'KONG_PG_PORT',
    'KONG_PG_DATABASE',
    'KONG_PG_USER',
    'KONG_PG_PASSWORD',
    'KONG_PG_SSL',
    'KONG_PG_SSL_VERIFY',
    'KONG_LUA_SSL_TRUSTED_CERTIFICATE',
    'KONG_LUA_PACKAGE_PATH',
    'KONG_LICENSE_DATA',
  ]);
  expect(c!.env).toContainEqual({ name: 'KONG_PG_HOST', value: '127.0.0.1' });
  expect(c!.env).toContainEqual({ name: 'KONG_LICENSE_DATA', valueFrom: { secretKeyRef: { name: 'kong-license', key: 'license' } } });
  expect(JSON.stringify(jobCreates())).not.toMatch(/licence-text|BEGIN CERTIFICATE/);
  // and the kubelet gave the container blue's settings, resolved
  expect(kubelet.runs.at(-1)!.env).toMatchObject({ KONG_PG_SCHEMA: 'edge', KONG_PLUGINS: 'bundled,my-plugin', KONG_PG_SSL: 'on', KONG_LICENSE_DATA: 'licence-text', KONG_PG_HOST: '127.0.0.1' });
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
