/**
 * How npm start stops: what it started, in reverse order, on Ctrl-C (SIGINT),
 * SIGTERM, or a start that fails halfway. One Ctrl-C reaches this process
 * more than once (the terminal signals the whole foreground group, and npm
 * and tsx relay it too), so signals within a second of the first count as
 * one; a later one forces: the given force() runs and the process exits,
 * taking its child processes with it.
 */
import type pino from 'pino';

const SAME_CTRL_C_MS = 1000;

export class Stopper {
  private readonly parts: { name: string; stop: () => Promise<unknown> }[] = [];
  private stopping: Promise<void> | undefined;
  private firstSignalAt = 0;

  constructor(
    private readonly log: pino.Logger,
    /** Synchronous and quick: what must not outlive a forced exit (e.g. daemons of our own). */
    private readonly force: () => void,
  ) {}

  /** Registers what to stop, right after it started. */
  add(name: string, stop: () => Promise<unknown>): void {
    this.parts.push({ name, stop });
  }

  /** Stops every part, last started first; a failing stop is logged and the others still run. */
  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      for (const part of [...this.parts].reverse()) {
        await part.stop().catch((err: unknown) => this.log.error({ err, part: part.name }, 'stop failed'));
      }
    })();
    return this.stopping;
  }

  /** Ctrl-C and SIGTERM stop everything and exit 0; a second Ctrl-C forces. */
  onSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => this.signal(signal));
  }

  private signal(signal: NodeJS.Signals): void {
    const now = Date.now();
    if (!this.firstSignalAt) {
      this.firstSignalAt = now;
      this.log.info({ signal }, 'stopping (Ctrl-C again to force)');
      void this.stopAll().then(() => process.exit(0));
      return;
    }
    if (now - this.firstSignalAt < SAME_CTRL_C_MS) return;
    this.log.warn({ signal }, 'forced stop');
    try {
      this.force();
    } finally {
      process.exit(130);
    }
  }
}
