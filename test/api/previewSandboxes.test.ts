/**
 * The preview of each sandbox target as `npm start` runs it: the shipped
 * cutover.config.yaml (its sandbox targets moved to free ports), the real
 * sandboxes, a worker with the real activities and the production workflow
 * bundle, the API, and `cutover upgrade --plan` against it, asked for the
 * upgrade npm start suggests (the kind's sandboxUpgrade). The steps, gates,
 * point of no return and capacity match the target; the kind's plan refuses
 * what the running system cannot take; a target the worker cannot reach is
 * a 503. The CLI's answers are written to .data/test/preview/ (the README
 * shows them).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { buildServer } from '../../src/api/server';
import { EXIT } from '../../src/cli/exitCodes';
import { loadConfig, type Config } from '../../src/config/file';
import type { TargetConfig } from '../../src/config/targets';
import { kindModule } from '../../src/domain/kindRegistry';
import type { UpgradePreview } from '../../src/domain/preview';
import { releaseName } from '../../src/domain/upgrade';
import { freePort } from '../../src/runtime/freePort';
import { projectRoot } from '../../src/runtime/binaries';
import { createLocalSandboxes } from '../../src/sandbox';
import type { LocalSandbox } from '../../src/sandbox/localSandbox';
import { cutover } from '../cli/harness';
import { clusterDir } from '../support/emqxSandbox';
import { connectSharedServer, startWorker, uniqueId, type RunningWorker } from '../support/temporal';

const OUT = join(projectRoot, '.data', 'test', 'preview');
const SANDBOXES = ['sandbox-emqx', 'sandbox-kong', 'sandbox-projection'];

let env: TestWorkflowEnvironment;
let worker: RunningWorker | undefined;
let app: FastifyInstance | undefined;
let url: string;
let config: Config;
let operator: string;
let sandboxes: Map<string, LocalSandbox>;
const running = new Set<LocalSandbox>();

/** The shipped target on free ports of its own. */
async function relocated(t: TargetConfig): Promise<TargetConfig> {
  const ports: Record<string, number> = {};
  for (const name of Object.keys(t.local!.ports)) ports[name] = await freePort();
  return {
    ...t,
    local: { ...t.local!, ports },
    ...(t.emqx ? { emqx: { ...t.emqx, apiUrl: `http://127.0.0.1:${ports.api}` } } : {}),
    ...(t.kong ? { kong: { ...t.kong, database: { ...t.kong.database, port: ports.postgres } } } : {}),
  };
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  env = await connectSharedServer();
  const shipped = loadConfig({ CUTOVER_CONFIG: resolve(projectRoot, 'cutover.config.yaml') });
  operator = shipped.auth.principals.find((p) => p.principal === 'operator')!.token;
  const targets = await Promise.all(shipped.targets.filter((t) => SANDBOXES.includes(t.name)).map(relocated));
  config = { ...shipped, targets, env: { ...shipped.env, temporal: { ...shipped.env.temporal, taskQueue: uniqueId('preview') }, logLevel: 'silent' } };
  app = await buildServer({ client: env.client, config });
  const apiPort = await freePort();
  await app.listen({ host: '127.0.0.1', port: apiPort });
  url = `http://127.0.0.1:${apiPort}`;
  // the projection's releases ask the API for their phase; a small store replays in moments
  const secrets: NodeJS.ProcessEnv = { CUTOVER_API_PORT: String(apiPort), SANDBOX_PROJECTION_SEED: '2000', SANDBOX_PROJECTION_HANDLER_COST_US: '0' };
  sandboxes = createLocalSandboxes(targets, clusterDir('preview'), secrets);
  const activities = createActivities(targets, { sandboxes, env: secrets, pollMs: 200, temporal: env.client, steeringKeys: config.steering });
  worker = await startWorker(env, config.env.temporal.taskQueue, activities, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! } });
}, 60_000);
afterAll(async () => {
  for (const s of running) await s.stop();
  await worker?.stop();
  await app?.close();
  await env?.teardown();
});

async function started(target: string): Promise<LocalSandbox> {
  const sandbox = sandboxes.get(target)!;
  running.add(sandbox);
  await sandbox.start();
  return sandbox;
}

async function stopped(sandbox: LocalSandbox): Promise<void> {
  await sandbox.stop();
  running.delete(sandbox);
}

/** What npm start suggests for the target's kind. */
function suggested(target: string) {
  const kind = config.targets.find((t) => t.name === target)!.kind;
  const { version, options } = kindModule(kind).sandboxUpgrade!;
  return { kind, target, version, options };
}

const preview = (body: object) => app!.inject({ method: 'POST', url: '/v1/upgrades?dryRun=true', headers: { authorization: `Bearer ${operator}` }, payload: body });

/** The preview through the API, and `cutover upgrade --plan` asked for the same, as text (kept for the README) and as JSON. */
async function previewed(target: string): Promise<{ p: UpgradePreview; text: string }> {
  const body = suggested(target);
  const res = await preview(body);
  expect(res.statusCode).toBe(200);
  const optionsFile = join(OUT, `${target}.options.json`);
  writeFileSync(optionsFile, JSON.stringify(body.options));
  const args = ['upgrade', target, body.version, '--options-file', optionsFile, '--plan'];
  const [text, json] = [await cutover(url, args, { as: null, env: { CUTOVER_TOKEN: operator } }), await cutover(url, [...args, '--output', 'json'], { as: null, env: { CUTOVER_TOKEN: operator } })];
  expect(text.stderr).toBe('');
  expect(text.code).toBe(EXIT.ok);
  writeFileSync(join(OUT, `${target}.txt`), `$ cutover ${args.join(' ').replace(optionsFile, `${target}.options.json`)}\n${text.stdout}`);
  // the CLI's JSON is the API's answer; the text says it all too
  const p = res.json() as UpgradePreview;
  expect(JSON.parse(json.stdout)).toEqual(p);
  for (const s of p.steps) expect(text.stdout).toContain(s.step);
  expect(text.stdout).toContain(`Preview: ${target} (${body.kind}) from ${p.blue.version} to ${body.version}`);
  return { p, text: text.stdout };
}

const step = (p: UpgradePreview, name: string) => p.steps.find((s) => s.step === name)!;
const undone = (p: UpgradePreview) => p.compensations.map((c) => c.step);

test('sandbox-emqx: 3 nodes at 5.7.0 beside 3 at 5.8.0, evacuated one at a time; no gate (approval auto); then a target the worker cannot reach is a 503', async () => {
  const sandbox = await started('sandbox-emqx');
  const { p } = await previewed('sandbox-emqx');
  const blue = releaseName('sandbox-emqx', '5.7.0');
  expect(p.blue).toEqual({ name: blue, version: '5.7.0', replicas: 3 });
  expect(p.green).toEqual({ name: releaseName('sandbox-emqx', '5.8.0'), version: '5.8.0', replicas: 3 });
  expect(p.found).toMatch(/^EMQX 5\.7\.0 \(\w+\)(, EMQX 5\.7\.0 \(\w+\))*; drain by (evacuation|pod-removal)$/);
  const evacuation = p.found!.endsWith('evacuation');
  expect(step(p, 'deployGreen').does).toContain(`create ${p.green.name} with 3 nodes beside ${blue}; they join blue's EMQX cluster`);
  expect(step(p, 'verify').does).toContain('all 6 nodes');
  expect(step(p, 'drainBlue').does).toMatch(evacuation ? /evacuate blue's 3 nodes one at a time .* at 50 connections\/s and 50 sessions\/s/ : /no node evacuation/);
  // sandboxUpgrade: approval auto, and the shipped config asks for no gate of its own there
  expect(p.gates).toEqual([]);
  expect(step(p, 'gate').does).toBe('no approval asked before promote');
  expect(p.traffic).toEqual({ allAtOnce: true, steps: [{ weight: 100, analysis: [], approve: false }], checks: [] });
  expect(p.pointOfNoReturn.step).toBe('finalize');
  expect(step(p, 'finalize').pointOfNoReturn).toBe(true);
  expect(undone(p)).toEqual(['drainBlue', 'promote', 'deployGreen']);
  // initial delay 5s; per node wait_health_check 2s and wait_takeover 5s, twice; standby 30s
  expect(p.capacity).toMatchObject({ blueReplicas: 3, greenReplicas: 3, replicasAtOnce: 6, from: 'deployGreen', until: 'cleanUpBlue' });
  expect(p.capacity.atLeastMs).toBe(evacuation ? 5000 + 3 * (2000 + 2 * 5000) + 30_000 : 5000 + 30_000);
  expect(p.capacity.plus).toContainEqual(expect.stringMatching(/^waitReady: .*3 pods to start/));
  expect(p.history.events).toBeLessThan(p.history.budget.events);

  // already at that version: the plan refuses, as the start's plan would
  const same = await preview({ ...suggested('sandbox-emqx'), version: '5.7.0' });
  expect(same.statusCode).toBe(409);
  expect(same.json().error.message).toBe(`the upgrade of sandbox-emqx to 5.7.0 would be refused at plan: sandbox-emqx already runs 5.7.0 (release ${blue})`);

  await stopped(sandbox);
  const unreachable = await preview(suggested('sandbox-emqx'));
  expect(unreachable.statusCode).toBe(503);
  expect(unreachable.json().error.message).toMatch(/^the worker could not read sandbox-emqx as the upgrade's plan does: /);
  const cli = await cutover(url, ['upgrade', 'sandbox-emqx', '5.8.0', '--plan'], { as: null, env: { CUTOVER_TOKEN: operator } });
  expect(cli.code).toBe(EXIT.error);
}, 180_000);

test("sandbox-kong: migrations up at prepare, 10%, 50%, 100% under analysis, an approval before 'kong migrations finish', the point of no return; a downgrade refused by the plan", async () => {
  const sandbox = await started('sandbox-kong');
  const { p } = await previewed('sandbox-kong');
  expect(p.blue).toMatchObject({ version: '3.8.0', replicas: 2 });
  expect(p.green).toMatchObject({ version: '3.9.0', replicas: 2 });
  expect(step(p, 'prepare').does).toMatch(/^freeze Admin API writes and fingerprint the configuration; back up the database \(pg_dump\); kong migrations up with Kong 3\.9\.0 \(core /);
  expect(step(p, 'verify').does).toContain(`a smoke request through ${p.green.name}: GET /health → 200`);
  expect(step(p, 'finalize').does).toMatch(
    /^wait for an approval before finalize \(role approver, not who started it\); the point of no return: rollback is refused from here; check the configuration fingerprint .*; then kong migrations finish with Kong 3\.9\.0: after it Kong 3\.8\.0 cannot use the database$/,
  );
  expect(p.traffic.steps).toEqual([
    { weight: 10, pauseMs: 10_000, analysis: ['error-rate', 'latency'], approve: false },
    { weight: 50, pauseMs: 10_000, analysis: ['error-rate', 'latency'], approve: false },
    { weight: 100, analysis: [], approve: false },
  ]);
  expect(p.traffic.checks.map((c) => [c.name, c.successCondition, c.measuringMs, c.where])).toEqual([
    ['error-rate', 'result < 0.01', 10_000, ['traffic step 1 (10%)', 'traffic step 2 (50%)']],
    ['latency', 'result < 1000', 10_000, ['traffic step 1 (10%)', 'traffic step 2 (50%)']],
  ]);
  // the gate before finish (four-eyes by the shipped policy), and a person wherever an analysis has no data
  expect(p.gates.filter((g) => !g.when)).toEqual([{ step: 'finalize', before: 'finalize', roles: ['approver'], requireDistinctApprover: true }]);
  expect(p.gates.filter((g) => g.when).map((g) => g.when)).toEqual([
    'analysis error-rate is inconclusive at traffic step 1 (10%)',
    'analysis latency is inconclusive at traffic step 1 (10%)',
    'analysis error-rate is inconclusive at traffic step 2 (50%)',
    'analysis latency is inconclusive at traffic step 2 (50%)',
  ]);
  expect(undone(p)).toEqual(['promote', 'deployGreen', 'prepare']);
  expect(p.compensations.at(-1)!.undo).toContain('the migrations stay pending');
  // pauses 2 × 10s, analyses 4 × 10s, standby 10s
  expect(p.capacity).toMatchObject({ blueReplicas: 2, greenReplicas: 2, replicasAtOnce: 4, atLeastMs: 70_000 });

  const downgrade = await preview({ ...suggested('sandbox-kong'), version: '3.4.0' });
  expect(downgrade.statusCode).toBe(400);
  expect(downgrade.json().error).toMatchObject({ field: 'version', message: expect.stringMatching(/^version .*3\.4\.0/) });
  await stopped(sandbox);
}, 180_000);

test('sandbox-projection: green rebuilds its read model beside blue and reports ready; one replica each; the replay is the unknown', async () => {
  const sandbox = await started('sandbox-projection');
  const { p } = await previewed('sandbox-projection');
  expect(p.blue).toMatchObject({ version: '1.4.0', replicas: 1 });
  expect(p.green).toMatchObject({ version: '2.0.0', replicas: 1 });
  expect(step(p, 'prepare').does).toBe(`create the database and role of ${p.green.name}`);
  expect(step(p, 'waitReady').does).toMatch(/caught up with the event store: a lag of at most 500 events for 3s, read every 1s .*; then wait for .* to report ready \(POST \/v1\/targets\/sandbox-projection\/releases\/.*\/ready\)$/);
  expect(step(p, 'cleanUpBlue').does).toBe(`${p.blue.name} CLEANING_UP; stop ${p.blue.name}, then drop its database; ${p.blue.name} OBSOLETE`);
  expect(p.gates).toEqual([]);
  expect(undone(p)).toEqual(['promote', 'deployGreen', 'prepare']);
  // the hold of 3s and the standby window of 2m, plus the replay
  expect(p.capacity).toMatchObject({ replicasAtOnce: 2, atLeastMs: 3000 + 120_000 });
  expect(p.capacity.plus).toEqual([expect.stringMatching(/^waitReady: .* to replay the event store/)]);
  await stopped(sandbox);
}, 180_000);
