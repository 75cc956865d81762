/**
 * The kong strategy on Kubernetes, the shipped workflow with the real
 * activities against the suite's control plane: Kong nodes are pods of a
 * Deployment on the loopback node (each a sandbox gateway process at its pod
 * IP, started by the test kubelet), migrations are Jobs run by the migration
 * kubelet against a real PostgreSQL, traffic is an HTTPRoute's backendRefs;
 * the worker has the shipped Role's rights only.
 * What a user would notice: the default Kong traffic plan's weights written
 * to the route step by step, and a rollback at the gate before `finish`
 * putting all of it back on blue, migrations left pending.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { V1Job } from '@kubernetes/client-node';
import { createActivities } from '../../../../src/activities';
import { toUpgradeOptions } from '../../../../src/config/normalise';
import type { UpgradeOptionsInput } from '../../../../src/config/options';
import type { TargetConfig } from '../../../../src/config/targets';
import { kindModule } from '../../../../src/domain/kindRegistry';
import { releaseName, upgradeWorkflowId, type UpgradeState } from '../../../../src/domain/upgrade';
import { freePort } from '../../../../src/runtime/freePort';
import { startEchoUpstream } from '../../../../src/sandbox/kong/echo';
import { runMigrationsProcess } from '../../../../src/sandbox/kong/launcher';
import type { PostgresServer } from '../../../../src/sandbox/postgres';
import { rollbackSignal, stateQuery } from '../../../../src/workflows/messages';
import { exec } from '../../../support/activityHarness';
import { GatewayKubelet } from '../../../support/gatewayKubelet';
import { TestNamespace } from '../../../support/kube';
import { ON_LOOPBACK_NODE } from '../../../support/kubeControlPlane';
import { MigrationKubelet } from '../../../support/migrationKubelet';
import { applyForCutover, shippedManifests } from '../../../support/shippedRbac';
import { connectSharedServer, eventually, startWorker, uniqueId, upgradeInput, type RunningWorker } from '../../../support/temporal';
import { kongDatabase, startPostgres } from '../../../support/kongDatabase';
import { TEST_STEERING_KEYS } from '../../../support/steering';

const TARGET = 'edge-gateway';
const BLUE = 'kong';
const GREEN = releaseName(TARGET, '3.9.0');
const GROUP = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };

let env: TestWorkflowEnvironment;
let pg: PostgresServer;
let dir: string;
let ns: TestNamespace;
let migrations: MigrationKubelet;
let gateways: GatewayKubelet;
let worker: RunningWorker | undefined;
let load: NodeJS.Timeout | undefined;
let echo: { url: string; close(): Promise<void> } | undefined;

beforeAll(async () => {
  env = await connectSharedServer();
  ({ pg, dir } = await startPostgres());
  echo = await startEchoUpstream();
}, 60_000);
afterAll(async () => {
  clearInterval(load);
  await worker?.stop();
  await gateways?.stop();
  await migrations?.stop();
  await ns?.delete();
  await pg?.stop();
  await echo?.close();
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

test('Kong 3.8.0 -> 3.9.0 on Kubernetes: up as a Job, green at its pod IPs ready, the HTTPRoute at 10, 50, 100; a rollback at the gate before finish puts 100 back on blue', async () => {
  const db = await kongDatabase(pg, 'kong_on_kube');
  expect((await runMigrationsProcess({ version: '3.8.0', command: 'bootstrap', db })).exitCode).toBe(0);
  ns = await TestNamespace.create('kong-upgrade');
  const namespace = ns.name;
  const ports = { proxy: await freePort(), status: await freePort() };
  migrations = new MigrationKubelet(ns.kubeConfig(), namespace, join(dir, 'logs')).start();
  gateways = new GatewayKubelet(ns.kubeConfig(), namespace, 'app.kubernetes.io/name=kong', ports, join(dir, 'logs')).start();

  // Kong as a user runs it: a Deployment of two nodes on the database, their Service, an HTTPRoute to it.
  await ns.core.createNamespacedSecret({ namespace, body: { metadata: { name: 'kong-postgres' }, stringData: { password: db.password } } });
  const labels = { 'app.kubernetes.io/name': 'kong' };
  await ns.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: BLUE, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            ...ON_LOOPBACK_NODE,
            containers: [
              {
                name: 'proxy',
                image: 'kong/kong-gateway:3.8.0',
                ports: [{ name: 'proxy', containerPort: ports.proxy }, { name: 'status', containerPort: ports.status }],
                env: [
                  { name: 'KONG_DATABASE', value: 'postgres' },
                  { name: 'KONG_PG_HOST', value: db.host },
                  { name: 'KONG_PG_PORT', value: String(db.port) },
                  { name: 'KONG_PG_DATABASE', value: db.database },
                  { name: 'KONG_PG_USER', value: db.user },
                  { name: 'KONG_PG_PASSWORD', valueFrom: { secretKeyRef: { name: 'kong-postgres', key: 'password' } } },
                ],
              },
            ],
          },
        },
      },
    },
  });
  await ns.core.createNamespacedService({ namespace, body: { metadata: { name: 'kong-proxy' }, spec: { selector: labels, ports: [{ name: 'proxy', port: 80, targetPort: 'proxy' }] } } });
  await ns.custom.createNamespacedCustomObject({
    ...GROUP,
    namespace,
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'kong' },
      spec: { parentRefs: [{ name: 'gateway' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'kong-proxy', port: 80 }] }] },
    },
  });
  const blueNodes = await eventually(async () => {
    const running = await gateways.running();
    return running.length === 2 && running;
  });
  for (const { node } of blueNodes) expect(node.statusUrl).toMatch(/^http:\/\/127\.77\.0\.\d+:/);
  // A route to an upstream, and the prometheus plugin configured for what the analysis reads: Kong counts only requests that
  // matched a route, and writes per-status and latency metrics only when the plugin's config says so.
  const admin = (path: string, body: object) =>
    fetch(`${blueNodes[0]!.node.adminUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.status);
  expect(await admin('/services', { name: 'orders', url: echo!.url })).toBe(201);
  expect(await admin('/routes', { name: 'orders', paths: ['/orders'], service: { name: 'orders' } })).toBe(201);
  expect(await admin('/plugins', { name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true } })).toBe(201);
  await ns.until(async () => (await ns.apps.readNamespacedDeployment({ name: BLUE, namespace })).status?.readyReplicas === 2);

  const target: TargetConfig = {
    name: TARGET,
    kind: 'kong',
    kubernetes: { namespace, workload: { kind: 'Deployment', name: BLUE }, service: 'kong-proxy', httpRoute: 'kong' },
    kong: {
      database: { host: db.host, port: db.port, database: db.database, user: db.user, password: { env: 'EDGE_PG_PASSWORD' }, passwordSecret: { name: 'kong-postgres', key: 'password' } },
      image: 'kong/kong-gateway',
      nodePorts: ports,
      backupDir: join(dir, 'backups'),
    },
  };
  const taskQueue = uniqueId('kong-kube');
  // the activities with the rights of the shipped Role only
  const token = await applyForCutover(ns, shippedManifests(namespace, undefined, 'rbac.yaml'));
  const activities = createActivities([target], { kubeConfigFor: () => ns.kubeConfig(token), env: { EDGE_PG_PASSWORD: db.password }, pollMs: 100, temporal: env.client, steeringKeys: TEST_STEERING_KEYS });
  worker = await startWorker(env, taskQueue, activities, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! } });
  // the first blue's pods carry no release label: its nodes are the pods its Deployment selects (what cleanUpBlue drains)
  expect(await exec(activities.waitKongNodesReady, { target: TARGET, release: BLUE, replicas: 2, version: '3.8.0' })).toMatchObject({ ready: 2 });

  // A trickle of requests to every node, so the analysis of green has data.
  load = setInterval(() => {
    void gateways.running().then((nodes) => nodes.forEach(({ node }) => void fetch(`${node.proxyUrl}/orders`).then((r) => r.arrayBuffer(), () => undefined)));
  }, 100);

  // The Kong kind's defaults (10%, 50%, 100% under error-rate and latency analysis, approval before finalize), as the API layers
  // them, with the checks measured every second.
  const defaults = (kindModule('kong').defaults ?? {}) as UpgradeOptionsInput;
  const options = toUpgradeOptions([defaults, { approval: 'auto', standbyWindow: '1s', analysis: defaults.analysis?.map((c) => ({ ...c, interval: '1s' })) }], {
    requireDistinctApprover: false,
  });
  expect(options.traffic.map((s) => s.weight)).toEqual([10, 50, 100]);
  const handle = await env.client.workflow.start('blueGreenUpgrade', {
    taskQueue,
    workflowId: upgradeWorkflowId(TARGET),
    args: [upgradeInput({ kind: 'kong', target: TARGET, version: '3.9.0', options })],
  });
  const waiting = await eventually(async () => {
    const st = await handle.query(stateQuery);
    return st.status === 'AWAITING_APPROVAL' && st;
  }, 150_000);
  expect(waiting.traffic).toEqual({ blue: 0, green: 100 });
  expect((await gateways.running()).map((n) => n.node.version).sort()).toEqual(['3.8.0', '3.8.0', '3.9.0', '3.9.0']);
  await handle.signal(rollbackSignal, { by: 'bob', reason: 'hold finish until the billing team checks' });
  const final = (await handle.result()) as UpgradeState;
  expect(final.status).toBe('ROLLED_BACK');
  // the backup before 'up': readable by the worker's user only, listed in the state with its size and checksum
  const backup = final.details.backup as { path: string; bytes: number; sha256: string };
  expect(statSync(backup.path).mode & 0o777).toBe(0o600);
  expect(backup).toMatchObject({ bytes: statSync(backup.path).size, sha256: createHash('sha256').update(readFileSync(backup.path)).digest('hex') });

  // The route's backendRefs as cutover wrote them, one write per step, then the rollback.
  const routeWrites = ns
    .writes()
    .filter((r) => r.path.endsWith('/httproutes/kong'))
    .map((r) => (r.body as { spec: { rules: { backendRefs: { name: string; weight?: number }[] }[] } }).spec.rules[0].backendRefs.map((b) => `${b.name}=${b.weight}`));
  expect(routeWrites).toEqual([
    [`cutover-${BLUE}=90`, `cutover-${GREEN}=10`],
    [`cutover-${BLUE}=50`, `cutover-${GREEN}=50`],
    [`cutover-${GREEN}=100`],
    [`cutover-${BLUE}=100`],
  ]);
  // migrations as Jobs: plan's status with both versions, up confirmed by list; no finish
  const jobCommands = ns
    .writes()
    .filter((r) => r.method === 'POST' && r.path.endsWith('/jobs'))
    .map((r) => (r.body as V1Job).spec!.template.spec!.containers[0].command!.slice(2).join(' ') + ' ' + (r.body as V1Job).spec!.template.spec!.containers[0].image);
  expect(jobCommands.slice(0, 2).sort()).toEqual(['status kong/kong-gateway:3.8.0', 'status kong/kong-gateway:3.9.0']);
  expect(jobCommands.slice(2)).toEqual(['list kong/kong-gateway:3.9.0', 'up kong/kong-gateway:3.9.0', 'list kong/kong-gateway:3.9.0']);
  expect((await runMigrationsProcess({ version: '3.9.0', command: 'list', db })).exitCode).toBe(4);
  // green gone, blue serving
  await eventually(async () => (await gateways.running()).every((n) => n.node.version === '3.8.0') && (await gateways.running()).length === 2);
  for (const { node } of await gateways.running()) expect((await fetch(`${node.statusUrl}/status/ready`)).status).toBe(200);
  expect(gateways.errors).toEqual([]);
}, 240_000);
