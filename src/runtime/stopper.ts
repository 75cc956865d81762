/**
 * How cutover's processes stop (npm start, and the production entries on
 * SIGTERM): what they started, in reverse order, on Ctrl-C (SIGINT),
 * SIGTERM, or a start that fails halfway. One Ctrl-C can reach this process
 * more than once (the terminal signals the whole foreground group, and a
 * parent may relay it), so signals within a second of the first count as
 * one; a later one forces: the given force() runs and the process exits 130.
 * A forced exit does not stop child processes in turn: those spawned through
 * runtime/childProcess.ts are killed as the process exits, and the next npm
 * start stops what is left (embedded/leftovers.ts).
 *
 * A signal during the start stops what started so far; the start goes on
 * only to its next add() or up(), which stop the late part at once and throw
 * Stopping, so nothing started after the signal outlives the exit.
 */
import type pino from 'pino';

const SAME_CTRL_C_MS = 1000;

/** Thrown by add() and up() once stopping: the start ends there, and the process exits cleanly. */
export class Stopping extends Error {
  constructor(what: string) {
    super(`stopping: ${what} was not kept`);
  }
}

interface Part {
  name: string;
  stop: () => Promise<unknown>;
}

export class Stopper {
  private readonly parts: Part[] = [];
  /** Stops of parts registered after stopping began. */
  private readonly late: Promise<void>[] = [];
  private stopping: Promise<void> | undefined;
  private firstSignalAt = 0;
  private isUp = false;

  constructor(
    private readonly log: pino.Logger,
    /** Synchronous and quick: what must not outlive a forced exit (e.g. daemons of our own). */
    private readonly force: () => void,
  ) {}

  /** Registers what to stop, right after it started; once stopping, stops it at once and throws Stopping. */
  add(name: string, stop: () => Promise<unknown>): void {
    if (this.stopping) {
      this.late.push(this.stopPart({ name, stop }));
      throw new Stopping(name);
    }
    this.parts.push({ name, stop });
  }

  /** The start is done: from now on a signal stops everything and exits. Throws Stopping if a signal came first. */
  up(): void {
    if (this.stopping) throw new Stopping('the start');
    this.isUp = true;
  }

  /** Whether a signal (not a failed start) began the stop. */
  get signalled(): boolean {
    return this.firstSignalAt > 0;
  }

  /** Stops every part, last started first, and those registered late; a failing stop is logged and the others still run. */
  async stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      for (const part of [...this.parts].reverse()) await this.stopPart(part);
    })();
    await this.stopping;
    // Every caller waits for every late stop, also those registered while it waited.
    for (let seen = -1; seen !== this.late.length; ) {
      seen = this.late.length;
      await Promise.all(this.late);
    }
  }

  private stopPart(part: Part): Promise<void> {
    return part.stop().then(
      () => undefined,
      (err: unknown) => this.log.error({ err, part: part.name }, 'stop failed'),
    );
  }

  /** Ctrl-C and SIGTERM stop everything and exit 0; a second Ctrl-C forces. */
  onSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => this.signal(signal));
  }

  /** During the start, the start exits itself once it reaches its next add() or up() (Stopping). */
  signal(signal: NodeJS.Signals): void {
    const now = Date.now();
    if (!this.firstSignalAt) {
      this.firstSignalAt = now;
      this.log.info({ signal }, 'stopping (Ctrl-C again to force)');
      void this.stopAll().then(() => this.isUp && process.exit(0));
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
