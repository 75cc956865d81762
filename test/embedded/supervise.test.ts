/**
 * supervise(): a server whose process dies unasked is started again, with a
 * warning and a line once it runs; a start that fails is tried again with a
 * pause that doubles; once stopped, nothing comes back.
 */
import { spawn } from 'node:child_process';
import pino from 'pino';
import { Writable } from 'node:stream';
import { stopChild } from '../../src/runtime/childProcess';
import { isAlive } from '../../src/runtime/processes';
import { supervise } from '../../src/embedded/supervise';
import { eventually } from '../support/temporal';

const lines: { msg: string; restartInMs?: number }[] = [];
const log = pino(
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  }),
);

const sleeper = async () => {
  const child = spawn('sleep', ['600']);
  return { process: child, stop: () => stopChild(child) };
};

const backoff = { firstMs: 20, maxMs: 200, steadyMs: 60_000 };

test('a process killed is started again with a line each; stopped, it stays stopped', async () => {
  lines.length = 0;
  const s = await supervise('the sleeper', sleeper, log, backoff);
  const first = s.current().process.pid!;
  process.kill(first, 'SIGKILL');
  await eventually(async () => s.current().process.pid !== first && lines.some((l) => l.msg === 'the sleeper is running again'));
  expect(lines.map((l) => l.msg)).toEqual(['the sleeper exited; starting it again', 'the sleeper is running again']);
  const second = s.current().process.pid!;
  expect(isAlive(second)).toBe(true);

  // killed again within a minute of its start: the pause doubles
  process.kill(second, 'SIGKILL');
  await eventually(async () => s.current().process.pid !== second);
  expect(lines.filter((l) => l.restartInMs !== undefined).map((l) => l.restartInMs)).toEqual([20, 40]);

  await s.stop();
  const last = s.current().process;
  expect(last.exitCode !== null || last.signalCode !== null).toBe(true);
  await new Promise((r) => setTimeout(r, 100));
  expect(s.current().process).toBe(last);
});

test('a start that fails is tried again, the pause doubling up to its maximum, until one succeeds', async () => {
  lines.length = 0;
  let attempts = 0;
  const s = await supervise(
    'the flaky one',
    async () => {
      attempts++;
      if (attempts > 1 && attempts < 6) throw new Error(`attempt ${attempts} failed`);
      return sleeper();
    },
    log,
    backoff,
  );
  process.kill(s.current().process.pid!, 'SIGKILL');
  await eventually(async () => lines.some((l) => l.msg === 'the flaky one is running again'));
  expect(attempts).toBe(6);
  expect(lines.map((l) => [l.msg, l.restartInMs])).toEqual([
    ['the flaky one exited; starting it again', 20],
    ['the flaky one did not start; trying again', 40],
    ['the flaky one did not start; trying again', 80],
    ['the flaky one did not start; trying again', 160],
    ['the flaky one did not start; trying again', 200],
    ['the flaky one is running again', undefined],
  ]);
  await s.stop();
});
