/**
 * `npm start` in a terminal (a pseudo-terminal from util-linux's script), at
 * the default log level, with the EMQX and the event-sourced sandboxes (whose
 * service long-polls its phase): it says where the console is, prints
 * readable lines, not JSON, and idle for a minute it prints fewer than five.
 * Ctrl-C typed in that terminal stops it cleanly: the dev server did not get
 * the terminal's signal and is stopped last, so the worker never polls a
 * dead server (no retry warnings, no errors), and every process it started
 * is gone. Its data directory is private (mktemp -d, mode 0700): run as
 * root, the sandbox PostgreSQL, which runs as the postgres user, keeps its
 * files where that user can reach them (initdb failed there before).
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isAlive } from '../../src/runtime/processes';
import { RELOCATED } from '../../src/sandbox/postgres';
import { eventually } from '../support/temporal';
import { childrenOf, mainPid, npmStart, setUpNpmStart, typeCtrlC, type NpmStart } from './npmStartHarness';

let run: NpmStart | undefined;
afterAll(async () => {
  if (run && run.process.exitCode === null) await typeCtrlC(run);
});

/** What a person sees: lines with text, colours and carriage returns taken out. */
const visibleLines = (text: string): string[] =>
  text
    // eslint-disable-next-line no-control-regex -- the terminal's colour and cursor sequences
    .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    // npm's spinner
    .filter((l) => l && !/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]$/.test(l));

test('idle for a minute, npm start in a terminal prints fewer than 5 lines; Ctrl-C there stops everything without a poll retry', async () => {
  const setup = await setUpNpmStart({ projection: true });
  delete setup.env.LOG_LEVEL;
  expect(statSync(dirname(setup.dataDir)).mode & 0o777).toBe(0o700);
  const r = npmStart(setup, { terminal: true });
  run = r;
  const banner = await r.up;
  expect(banner).toContain(`console:     ${setup.api}/ui`);
  // readable lines in a terminal, not JSON
  expect(visibleLines(banner)).toEqual(expect.arrayContaining([expect.stringMatching(/^\[\d\d:\d\d:\d\d\] INFO: starting the embedded Temporal dev server/)]));
  expect(visibleLines(banner).filter((l) => l.startsWith('{'))).toEqual([]);

  const upAt = r.output().length;
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  const idle = visibleLines(r.output().slice(upAt));
  expect(idle.length).toBeLessThan(5);

  const main = mainPid(setup);
  const started = childrenOf(main);
  // the dev server, Prometheus, the backplane, the nodes, the projection's service, nginx
  expect(started.length).toBeGreaterThanOrEqual(6);
  const stoppingAt = r.output().length;
  expect(await typeCtrlC(r)).toBe(0);
  const shutdown = visibleLines(r.output().slice(stoppingAt)).join('\n');
  // (the projection's service may ask its phase again while the API closes: Fastify answers it 503 and says so at info)
  expect(shutdown).not.toMatch(/retried|Unavailable|WARN|ERROR/);
  await eventually(async () => started.every((pid) => !isAlive(pid)), 10_000);

  const where = join(setup.dataDir, 'sandbox', 'start-test-projection', 'postgres', 'WHERE');
  if (process.getuid?.() === 0) {
    const relocated = new RegExp(`(${RELOCATED}/\\w+)`).exec(readFileSync(where, 'utf8'))![1];
    rmSync(relocated, { recursive: true, force: true });
  }
}, 300_000);
