/**
 * Starts `temporal server start-dev` from the pinned binary and waits until it
 * answers. Used by `npm start` (history in a SQLite file, UI on) and by the
 * test suite (in memory, headless). In a process group of its own: Ctrl-C
 * reaches npm start, which stops the dev server last.
 */
import type { ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/searchAttributes';
import { temporalCliPath } from '../runtime/binaries';
import { spawnOwnGroup, stopChild } from '../runtime/childProcess';
import { portIsFree } from '../runtime/freePort';

export interface DevServerOptions {
  port: number;
  /** UI port; omit for a headless server. */
  uiPort?: number;
  /** SQLite file that keeps history across restarts; omit for in-memory. */
  dbFile?: string;
  namespace?: string;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function devServerArgs(o: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--log-level', 'error'];
  args.push('--namespace', o.namespace ?? 'default');
  if (o.uiPort !== undefined) args.push('--ui-port', String(o.uiPort));
  else args.push('--headless');
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  for (const key of ALL_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  return args;
}

export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  for (const port of [o.port, o.uiPort].filter((p): p is number => p !== undefined)) {
    if (!(await portIsFree(port))) {
      throw new Error(`port ${port} is in use: is another cutover or temporal dev server running? Stop it, or pick other ports (CUTOVER_DEV_TEMPORAL_PORT, CUTOVER_DEV_TEMPORAL_UI_PORT)`);
    }
  }
  const child = spawnOwnGroup(temporalCliPath(), devServerArgs(o), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${o.port}`;
  const stop = () => stopChild(child);
  const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited with ${child.exitCode}: ${stderr}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.describeNamespace({ namespace: o.namespace ?? 'default' });
      await connection.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`temporal dev server did not answer on ${address} in time: ${String(err)}\n${stderr}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: o.uiPort !== undefined ? `http://127.0.0.1:${o.uiPort}` : undefined,
    process: child,
    stop,
  };
}
