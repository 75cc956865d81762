/**
 * What a killed `npm start` left behind. The servers it starts in groups of
 * their own (the dev server, Prometheus, the sandboxes' nodes and backplanes)
 * get SIGTERM from the kernel when it dies; nginx and its workers are in its
 * process group, so after a SIGKILL they live on in that group without it.
 * Each start records its pid and group in the data directory; the next start
 * stops what is left in the recorded group.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandOf, groupMembers, isAlive, processGroupOf, terminate, type ProcessInfo } from '../runtime/processes';

interface RunRecord {
  pid: number;
  pgid: number;
}

const recordFile = (dataDir: string): string => join(dataDir, 'npm-start.json');

/**
 * Stops the processes a previous start with this data directory left running,
 * and records this one. Refuses while that start itself still runs.
 */
export async function takeOverDataDir(dataDir: string): Promise<ProcessInfo[]> {
  let last: RunRecord | undefined;
  try {
    last = JSON.parse(readFileSync(recordFile(dataDir), 'utf8')) as RunRecord;
  } catch {
    last = undefined;
  }
  const pgid = processGroupOf();
  let stopped: ProcessInfo[] = [];
  if (last && last.pid !== process.pid) {
    if (isAlive(last.pid) && commandOf(last.pid)?.includes('embedded/main.ts')) {
      throw new Error(`another npm start (pid ${last.pid}) runs with data directory ${dataDir}: stop it first (Ctrl-C), or set CUTOVER_DATA_DIR`);
    }
    // Our own group may be the recorded one (a script that starts npm start twice): never stop ourselves or our parents.
    if (last.pgid !== pgid) {
      stopped = groupMembers(last.pgid).map((pid) => ({ pid, command: commandOf(pid) ?? '?' }));
      await terminate(stopped.map((p) => p.pid));
    }
  }
  writeFileSync(recordFile(dataDir), JSON.stringify({ pid: process.pid, pgid: pgid ?? process.pid }) + '\n');
  return stopped;
}
