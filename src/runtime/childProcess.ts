import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** The child dies with this process, however this one exits. */
export function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** SIGTERM (a clean stop: the server flushes what it must) and wait for the exit; SIGKILL after killAfterMs. */
export async function stopChild(child: ChildProcess, killAfterMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Spawns a server that a terminal's Ctrl-C must not reach (the terminal
 * signals its whole foreground process group at once): it runs in a process
 * group of its own, so the launcher stops it in its turn, after what uses it.
 * The kernel sends it SIGTERM when this process dies, however it dies
 * (util-linux's setpriv --pdeathsig), so it never outlives its launcher.
 */
export function spawnOwnGroup(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn('setpriv', ['--pdeathsig', 'SIGTERM', '--', command, ...args], { ...options, detached: true });
  killOnExit(child);
  return child;
}
