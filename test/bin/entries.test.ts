/**
 * The production entries as the image runs them (src/bin/worker.ts and
 * src/bin/api.ts, each its own process, configured by environment) against
 * the suite's Temporal dev server standing in for a cluster: the API answers
 * and is ready, the worker runs workflows and activities of its task queue
 * and serves cutover's and the SDK's metrics on one listener, neither runs a
 * sandbox, and each stops on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { projectRoot } from '../../src/runtime/binaries';
import { killOnExit } from '../../src/runtime/childProcess';
import { freePort } from '../../src/runtime/freePort';
import { RELEASES_WORKFLOW } from '../../src/workflows/targetMessages';
import { eventually, sharedServerAddress, uniqueId } from '../support/temporal';

const CONFIG = join(projectRoot, 'cutover.config.yaml');
const TOKENS = {
  CUTOVER_TOKEN_VIEWER: 'v'.repeat(32),
  CUTOVER_TOKEN_OPERATOR: 'o'.repeat(32),
  CUTOVER_TOKEN_APPROVER: 'a'.repeat(32),
  SANDBOX_PROJECTION_SERVICE_TOKEN: 's'.repeat(32),
};
const STEERING = `k1:${'k'.repeat(48)}`;

interface Running {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function run(entry: 'worker' | 'api', env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src', 'bin', `${entry}.ts`)], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, CUTOVER_CONFIG: CONFIG, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

/** Waits until `url` answers 2xx, failing with the process's output if it exits first. */
async function answers(p: Running, url: string): Promise<Response> {
  return eventually(async () => {
    if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode}: ${p.out()}`);
    const res = await fetch(url).catch(() => undefined);
    return res?.ok ? res : undefined;
  }, 90_000);
}

test.each(['worker', 'api'] as const)('without TEMPORAL_ADDRESS the %s stops at once with exit 2, saying what to set (the dev server is npm start\'s)', async (entry) => {
  const p = run(entry, { CUTOVER_STEERING_KEYS: STEERING });
  expect(await p.exited).toBe(2);
  expect(p.out()).toContain(`cutover ${entry}: TEMPORAL_ADDRESS is not set: set it to the Temporal frontend as host:port`);
});

test('the API: ready once Temporal answers, its OpenAPI served, the tokens from the environment; SIGTERM stops it with exit 0', async () => {
  const port = await freePort();
  const p = run('api', { TEMPORAL_ADDRESS: sharedServerAddress(), CUTOVER_API_PORT: String(port), CUTOVER_STEERING_KEYS: STEERING, ...TOKENS });
  const api = `http://127.0.0.1:${port}`;
  expect(await (await answers(p, `${api}/readyz`)).json()).toEqual({ status: 'ready' });
  const doc = (await (await fetch(`${api}/docs/json`)).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(doc.paths)).toContain('/v1/upgrades');
  const targets = await fetch(`${api}/v1/targets`, { headers: { authorization: `Bearer ${TOKENS.CUTOVER_TOKEN_VIEWER}` } });
  expect(targets.status).toBe(200);
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
}, 120_000);

test("the worker: runs the workflows and activities of its task queue with no sandbox, serves cutover's metrics and the SDK's on one listener; SIGTERM stops it with exit 0", async () => {
  const taskQueue = uniqueId('production-worker');
  const metrics = `127.0.0.1:${await freePort()}`;
  const p = run('worker', { TEMPORAL_ADDRESS: sharedServerAddress(), CUTOVER_TASK_QUEUE: taskQueue, CUTOVER_WORKER_METRICS: metrics, CUTOVER_STEERING_KEYS: STEERING });
  await eventually(async () => {
    if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode}: ${p.out()}`);
    return p.out().includes('"msg":"worker started"');
  }, 90_000);

  // a workflow of cutover's own on its queue: the worker runs it and its activity, which finds no local sandbox in a production worker
  const connection = await Connection.connect({ address: sharedServerAddress() });
  try {
    const client = new Client({ connection });
    const handle = await client.workflow.start(RELEASES_WORKFLOW, { taskQueue, workflowId: uniqueId('releases'), args: [{ target: 'sandbox-emqx' }] });
    const failed = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    expect(((failed as WorkflowFailedError).cause?.cause as Error | undefined)?.message).toBe(
      "target 'sandbox-emqx' is not a local sandbox run by this worker (only the worker of npm start runs it)",
    );
  } finally {
    await connection.close();
  }

  const text = await (await answers(p, `http://${metrics}/metrics`)).text();
  expect(text).toMatch(/^cutover_process_cpu_seconds_total /m); // cutover's registry
  expect(text).toMatch(/^temporal_[a-z_]+\{/m); // the SDK's, passed on
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
}, 180_000);
