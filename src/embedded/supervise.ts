/**
 * Keeps one of npm start's servers running (the Temporal dev server,
 * Prometheus): when its process exits without being asked to, a log line says
 * so and it is started again after a pause, 1 s doubling up to 30 s while it
 * keeps dying within a minute of its start. What uses it reconnects by itself
 * (the worker's and the API's Temporal connections retry), so an upgrade in
 * flight goes on.
 */
import type { ChildProcess } from 'node:child_process';
import type pino from 'pino';

export interface Supervisable {
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface Supervised<T> {
  /** The running instance (the latest start). */
  current(): T;
  /** Ends the supervision, then stops the running instance. */
  stop(): Promise<void>;
}

export interface Backoff {
  firstMs: number;
  maxMs: number;
  /** A start that ran this long before it died is restarted after firstMs again. */
  steadyMs: number;
}

const BACKOFF: Backoff = { firstMs: 1000, maxMs: 30_000, steadyMs: 60_000 };

export async function supervise<T extends Supervisable>(name: string, start: () => Promise<T>, log: pino.Logger, backoff: Backoff = BACKOFF): Promise<Supervised<T>> {
  let current = await start();
  let startedAt = Date.now();
  /** The pause before the next start. */
  let delay = backoff.firstMs;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let restarting: Promise<void> = Promise.resolve();

  const restartLater = (): void => {
    if (stopped) return;
    const pause = delay;
    delay = Math.min(delay * 2, backoff.maxMs);
    timer = setTimeout(() => {
      restarting = (async () => {
        if (stopped) return;
        try {
          current = await start();
          startedAt = Date.now();
          log.info(`${name} is running again`);
          watch(current);
        } catch (err) {
          log.warn({ err: err instanceof Error ? err.message : String(err), restartInMs: delay }, `${name} did not start; trying again`);
          restartLater();
        }
      })();
    }, pause);
  };

  const watch = (instance: T): void => {
    instance.process.once('exit', (code, signal) => {
      if (stopped) return;
      if (Date.now() - startedAt >= backoff.steadyMs) delay = backoff.firstMs;
      log.warn({ code, signal, restartInMs: delay }, `${name} exited; starting it again`);
      restartLater();
    });
  };
  watch(current);

  return {
    current: () => current,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await restarting;
      await current.stop();
    },
  };
}
