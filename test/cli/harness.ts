/**
 * `cutover` as a user runs it: a child process (bin/cutover.js) against an
 * API listening on a free loopback port of the suite's dev server, with a
 * home directory of its own (its contexts file) and the token of a role in
 * CUTOVER_TOKEN. Never spawnSync: the worker runs in this process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { TOKENS, type Who } from '../api/harness';

export const CUTOVER = resolve(__dirname, '..', '..', 'bin', 'cutover.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The role whose token is in CUTOVER_TOKEN; null: none. */
  as?: Who | null;
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** Ends the process (a test that gives up on it). */
  signal?: AbortSignal;
  /** Called with all it has printed so far, at each chunk: a test waits on what it saw, not on a clock. */
  onStdout?: (soFar: string) => void;
}

export const newHome = (): string => mkdtempSync(join(tmpdir(), 'cutover-cli-'));

/** The environment a user's shell would give it: no CUTOVER_* of this process, a home of its own. */
export function cliEnv(url: string | undefined, { as = 'operator', env = {}, home = newHome() }: CliOptions = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CUTOVER_') && k !== 'XDG_CONFIG_HOME'));
  return { ...base, HOME: home, NO_COLOR: '1', ...(url ? { CUTOVER_URL: url } : {}), ...(as ? { CUTOVER_TOKEN: TOKENS[as] } : {}), ...env };
}

export function cutover(url: string | undefined, args: string[], o: CliOptions = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CUTOVER, ...args], { env: cliEnv(url, o), stdio: ['ignore', 'pipe', 'pipe'], signal: o.signal });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      o.onStdout?.(stdout);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', (err) => (err.name === 'AbortError' ? undefined : fail(err)));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** The API on a real port, as the CLI reaches it. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the API has no TCP address');
  return `http://127.0.0.1:${address.port}`;
}
