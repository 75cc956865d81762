/**
 * What npm start starts, Ctrl-C stops: SIGINT to the whole process group of
 * `npm start` (a terminal's Ctrl-C: npm, main.ts and nginx get it at once;
 * the servers it started, each in a group of its own, are stopped by main.ts
 * in its turn) leaves no process of it, nginx included, start after start, and
 * also after main.ts itself was killed before it could stop anything; a start
 * whose port is taken names the port and the process holding it and leaves
 * nothing running; one that fails after the dev server and Prometheus are up
 * stops them; after a SIGKILL of npm start (and of its nginx master), the
 * servers it started go with it (the kernel's SIGTERM), and the next start
 * stops what was left and comes up on the same ports.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { portIsFree } from '../../src/runtime/freePort';
import { groupMembers, isAlive } from '../../src/runtime/processes';
import { eventually } from '../support/temporal';
import { childrenOf, ctrlC, mainPid, npmStart, setUpNpmStart, type NpmStart, type NpmStartSetup } from './npmStartHarness';

const running: NpmStart[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) if (isAlive(r.pgid)) await ctrlC(r);
});

const nginxMaster = (s: NpmStartSetup): number => Number(readFileSync(join(s.nginxPrefix, 'nginx.pid'), 'utf8').trim());

async function up(setup: NpmStartSetup): Promise<NpmStart> {
  const run = npmStart(setup);
  running.push(run);
  await run.up;
  return run;
}

test('Ctrl-C to the whole process group of npm start stops everything it started, nginx included: three starts, the last with main.ts killed first', async () => {
  const setup = await setUpNpmStart();
  for (const mainKilled of [false, false, true]) {
    const run = await up(setup);
    const group = groupMembers(run.pgid);
    // npm, main, nginx (not a daemon: in the group) and its worker; the servers are in groups of their own, apart from Ctrl-C
    expect(group).toEqual(expect.arrayContaining([run.process.pid, mainPid(setup), nginxMaster(setup)]));
    const started = childrenOf(mainPid(setup));
    // dev server, Prometheus, backplane, 3 nodes, nginx
    expect(started.length).toBeGreaterThanOrEqual(7);

    // main.ts killed before it can stop anything (as the tsx CLI's relay could): the Ctrl-C still reaches every process it started.
    if (mainKilled) process.kill(mainPid(setup), 'SIGKILL');
    const code = await ctrlC(run);
    if (!mainKilled) expect(code).toBe(0);
    await eventually(async () => groupMembers(run.pgid).length === 0 && started.every((pid) => !isAlive(pid)), 10_000);
    expect(groupMembers(run.pgid)).toEqual([]);
    for (const port of Object.values(setup.ports)) expect(await portIsFree(port)).toBe(true);
  }
}, 180_000);

test('a start whose port is taken says which port and which process holds it, and leaves nothing running', async () => {
  const setup = await setUpNpmStart();
  const squatter: Server = createServer();
  await new Promise<void>((r) => squatter.listen(setup.ports.mqtt, '127.0.0.1', r));
  try {
    const run = npmStart(setup);
    running.push(run);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`port ${setup.ports.mqtt} (sandbox sandbox-emqx mqtt, local.ports.mqtt in the config) is taken by pid ${process.pid}`);
    await eventually(async () => groupMembers(run.pgid).length === 0, 10_000);
    expect(groupMembers(run.pgid)).toEqual([]);
  } finally {
    squatter.close();
  }
}, 60_000);

test('a start that fails after the dev server and Prometheus are up stops them, says why, and leaves nothing running', async () => {
  const setup = await setUpNpmStart();
  mkdirSync(dirname(setup.stateFile), { recursive: true });
  writeFileSync(setup.stateFile, '{');
  const run = npmStart(setup);
  running.push(run);
  expect(await run.exited).toBe(1);
  expect(run.output()).toContain(`cutover: sandbox state ${setup.stateFile} is unreadable`);
  // They had started: the dev server's history and Prometheus's directory.
  expect(existsSync(join(setup.dataDir, 'temporal.sqlite'))).toBe(true);
  expect(existsSync(join(setup.dataDir, 'prometheus'))).toBe(true);
  await eventually(async () => groupMembers(run.pgid).length === 0, 10_000);
  expect(groupMembers(run.pgid)).toEqual([]);
  expect(await portIsFree(Number(setup.temporalAddress.split(':')[1]))).toBe(true);
  expect(await portIsFree(setup.prometheusPort)).toBe(true);
}, 60_000);

test('after a SIGKILL of npm start and of its nginx master, the next start stops what was left and comes up on the same ports', async () => {
  const setup = await setUpNpmStart();
  const first = await up(setup);
  const nginx = nginxMaster(setup);
  const started = childrenOf(mainPid(setup));
  process.kill(mainPid(setup), 'SIGKILL');
  process.kill(first.process.pid!, 'SIGKILL');
  process.kill(nginx, 'SIGKILL');
  await first.exited;
  // The servers it started went with it (SIGTERM from the kernel as main died); nginx's worker stays on the ports.
  await eventually(async () => started.every((pid) => !isAlive(pid) || pid === nginx), 10_000);
  const left = groupMembers(first.pgid);
  expect(left.length).toBeGreaterThanOrEqual(1);
  expect(await portIsFree(setup.ports.mqtt)).toBe(false);

  const second = await up(setup);
  expect(second.output()).toMatch(/stopped what an earlier npm start/);
  expect(left.filter(isAlive)).toEqual([]);
  expect(await ctrlC(second)).toBe(0);
  await eventually(async () => groupMembers(second.pgid).length === 0, 10_000);
  expect(groupMembers(second.pgid)).toEqual([]);
}, 180_000);
