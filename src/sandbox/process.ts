/**
 * A sandbox program (a stand-in node, gateway or service) as an OS process of
 * its own: started with tsx, its stderr appended to a log file, waited for
 * until it prints a JSON line with "ready":true. Every process started here
 * is killed when this process exits, however it exits.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { projectRoot } from '../runtime/binaries';
import { spawnOwnGroup } from '../runtime/childProcess';

export interface SandboxProcessSpec {
  /** What the logs and errors call it, e.g. "sandbox EMQX node emqx@a-0". */
  label: string;
  /** The TypeScript program to run. */
  script: string;
  args: string[];
  /** Added to this process's environment (secrets go here, not in args, so ps does not show them). */
  env?: NodeJS.ProcessEnv;
  /** Its stderr is appended here. */
  logFile: string;
  startTimeoutMs?: number;
}

export interface SandboxProcess {
  process: ChildProcess;
  /** The ready line the program printed. */
  ready: Record<string, unknown>;
  /** SIGTERM (a clean stop) and wait for the exit; SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

export async function exitProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export const isRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

export async function startSandboxProcess(spec: SandboxProcessSpec): Promise<SandboxProcess> {
  const timeoutMs = spec.startTimeoutMs ?? 20_000;
  mkdirSync(dirname(spec.logFile), { recursive: true });
  // apart from the terminal's Ctrl-C: npm start stops its sandboxes after the worker that uses them
  const child = spawnOwnGroup(process.execPath, ['--import', 'tsx', spec.script, ...spec.args], {
    env: { ...process.env, ...spec.env },
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.pipe(createWriteStream(spec.logFile, { flags: 'a' }));
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${spec.label} did not start in ${timeoutMs} ms; see ${spec.logFile}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"ready":true'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.label} exited with ${code}; see ${spec.logFile}`));
    });
  });
  try {
    return { process: child, ready: await ready, stop: () => exitProcess(child, 'SIGTERM'), kill: () => exitProcess(child, 'SIGKILL') };
  } catch (err) {
    await exitProcess(child, 'SIGKILL');
    throw err;
  }
}
