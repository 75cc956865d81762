/** A worker process killed in the middle of an upgrade: its successor finishes, applying nothing twice. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { upgradeWorkflowId, type UpgradeState } from '../../src/domain/upgrade';
import { stateQuery } from '../../src/workflows/messages';
import { ScriptedWorld } from '../support/scriptedWorld';
import { connectSharedServer, eventually, startWorker, uniqueId, upgradeInput } from '../support/temporal';

let env: TestWorkflowEnvironment;
let child: ChildProcess | undefined;

beforeAll(async () => {
  env = await connectSharedServer();
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await env?.teardown();
});

function workerProcess(taskQueue: string, journal: string, hold: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../support/scriptedWorkerProcess.ts'), taskQueue, journal, hold], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: process.env,
  });
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(proc));
    proc.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)));
  });
}

test('SIGKILL of the worker during waitReady: a new worker resumes and every effect happens once', async () => {
  const taskQueue = uniqueId('crash');
  const journal = join(mkdtempSync(join(tmpdir(), 'cutover-crash-')), 'journal');
  const input = upgradeInput();
  child = await workerProcess(taskQueue, journal, `${input.target}/waitReady`);
  const world = new ScriptedWorld(journal);
  const h = await env.client.workflow.start('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(input.target), args: [input] });
  await eventually(async () => world.attempts.some((a) => a.target === input.target && a.step === 'waitReady'));
  expect(world.effects.map((e) => e.step)).toEqual(['prepare', 'deployGreen']);

  child.kill('SIGKILL');
  await new Promise((r) => child!.once('exit', r));
  child = undefined;

  const successor = await startWorker(env, taskQueue, world.activities(env.client));
  try {
    const final = (await h.result()) as UpgradeState;
    expect(final.status).toBe('SUCCEEDED');
    expect(world.effects.map((e) => `${e.action} ${e.step}`)).toEqual([
      'do prepare',
      'do deployGreen',
      'do waitReady',
      'do verify',
      'do promote',
      'do drainBlue',
      'do finalize',
      'do cleanUpBlue',
    ]);
    // waitReady ran on both workers: the dead one's attempt timed out on its heartbeat
    expect(world.attempts.filter((a) => a.step === 'waitReady').length).toBe(2);
    expect((await h.query(stateQuery)).releases.green?.phase).toBe('SERVING');
  } finally {
    await successor.stop();
  }
}, 90_000);
