/**
 * Stuck runs found without anyone asking: every so often the API lists the
 * running upgrades and describes each, sets cutover_upgrades_stuck per
 * target and logs once when a run gets stuck (and when it no longer is), so
 * an alert fires even while nobody reads the upgrade.
 */
import type { FastifyBaseLogger } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import type { Stuck } from './stuck';

export interface StuckWatchOptions {
  registry: Registry;
  log: FastifyBaseLogger;
  /** How often to look; default 30 s. */
  everyMs?: number;
}

export class StuckWatch {
  private readonly gauge: Gauge<'target'>;
  private known = new Map<string, Stuck>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly find: () => Promise<{ id: string; target: string; stuck: Stuck }[]>,
    private readonly o: StuckWatchOptions,
  ) {
    this.gauge = new Gauge({
      name: 'cutover_upgrades_stuck',
      help: 'running upgrades of the target whose workflow task keeps failing (nothing moves until the worker is fixed or the run terminated)',
      labelNames: ['target'],
      registers: [o.registry],
    });
  }

  start(): void {
    const tick = () => {
      this.running = this.check().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.o.everyMs ?? 30_000);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async check(): Promise<void> {
    let found: Awaited<ReturnType<typeof this.find>>;
    try {
      found = await this.find();
    } catch (err) {
      this.o.log.warn({ err: String(err) }, 'could not look for stuck upgrades');
      return;
    }
    const now = new Map(found.map((f) => [f.id, f.stuck]));
    this.gauge.reset();
    for (const f of found) {
      this.gauge.inc({ target: f.target });
      if (!this.known.has(f.id)) {
        this.o.log.error({ upgrade: f.id, target: f.target, ...f.stuck }, `upgrade ${f.id} is stuck: its workflow task has failed since ${f.stuck.since}: ${f.stuck.message}`);
      }
    }
    for (const id of this.known.keys()) if (!now.has(id)) this.o.log.info({ upgrade: id }, `upgrade ${id} is no longer stuck`);
    this.known = now;
  }
}
