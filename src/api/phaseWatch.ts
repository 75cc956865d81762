/**
 * Long polls of release phases. Every waiter on a target shares one poller of
 * that target's workflow state query, so a thousand services waiting cost
 * what one does; a waiter is answered on the first poll that shows a change,
 * and at its deadline with the state as it is then.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

interface Waiter<S> {
  changed: (state: S) => boolean;
  settle: (r: { state?: S; error?: unknown }) => void;
}

interface Poller<S> {
  waiters: Set<Waiter<S>>;
  latest?: S;
  done?: Promise<void>;
}

export interface PhaseWatchOptions {
  /** How often a target with waiters is read. */
  pollMs?: number;
  registry?: Registry;
}

export class PhaseWatch<S> {
  private readonly pollers = new Map<string, Poller<S>>();
  private readonly pollMs: number;
  private readonly reads: Counter<'target'>;
  private readonly waiting: Gauge<'target'>;

  constructor(
    private readonly read: (target: string) => Promise<S>,
    o: PhaseWatchOptions = {},
  ) {
    this.pollMs = o.pollMs ?? 200;
    const registers = o.registry ? [o.registry] : [];
    this.reads = new Counter({ name: 'cutover_phase_watch_reads_total', help: 'state queries made by the shared long-poll pollers', labelNames: ['target'], registers });
    this.waiting = new Gauge({ name: 'cutover_phase_watch_waiters', help: 'long polls of release phases waiting now', labelNames: ['target'], registers });
  }

  /**
   * Resolves with the first state of the target for which `changed` holds, or
   * with the latest state at the deadline; rejects with the read's error (an
   * upgrade gone, Temporal unreachable). An aborted wait just ends.
   */
  wait(target: string, changed: (state: S) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<S> {
    return new Promise<S>((resolve, reject) => {
      let poller = this.pollers.get(target);
      const fresh = !poller;
      if (!poller) {
        poller = { waiters: new Set() };
        this.pollers.set(target, poller);
      }
      const p = poller;
      const waiter: Waiter<S> = {
        changed,
        settle: ({ state, error }) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          p.waiters.delete(waiter);
          this.waiting.set({ target }, p.waiters.size);
          if (error !== undefined) reject(error);
          else resolve(state as S);
        },
      };
      const timer = setTimeout(() => (p.latest !== undefined ? waiter.settle({ state: p.latest }) : this.read(target).then((state) => waiter.settle({ state }), (error: unknown) => waiter.settle({ error }))), timeoutMs);
      const onAbort = () => waiter.settle({ error: signal?.reason ?? new Error('aborted') });
      signal?.addEventListener('abort', onAbort);
      p.waiters.add(waiter);
      this.waiting.set({ target }, p.waiters.size);
      if (fresh) p.done = this.poll(target, p);
    });
  }

  /** Answers every waiter with the state as last read and waits for the pollers' reads to end (server shutdown). */
  async close(): Promise<void> {
    const pollers = [...this.pollers.values()];
    for (const p of pollers) for (const w of [...p.waiters]) w.settle(p.latest !== undefined ? { state: p.latest } : { error: new Error('the API is shutting down') });
    await Promise.all(pollers.map((p) => p.done));
  }

  private async poll(target: string, p: Poller<S>): Promise<void> {
    while (p.waiters.size > 0) {
      let result: { state?: S; error?: unknown };
      try {
        this.reads.inc({ target });
        result = { state: await this.read(target) };
        p.latest = result.state;
      } catch (error) {
        result = { error };
      }
      for (const w of [...p.waiters]) {
        if (result.error !== undefined) w.settle(result);
        else if (w.changed(result.state as S)) w.settle(result);
      }
      if (p.waiters.size > 0) await new Promise((r) => setTimeout(r, this.pollMs));
    }
    this.pollers.delete(target);
  }
}
