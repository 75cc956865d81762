/**
 * The sandbox's event producer: appends OrderPlaced events to the Axon store
 * at a steady rate (in batches ten times a second), as a busy system would
 * while a new projection is being built.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { appendEvents, type AxonNaming } from './axonStore';
import type { OrderPlaced } from './readModels';

export interface ProducerOptions {
  url: string;
  naming: AxonNaming;
  /** Events per second. */
  rate: number;
  customers?: number;
  products?: number;
}

export class Producer {
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** Highest global index appended so far. */
  last = -1;
  appended = 0;

  constructor(private readonly o: ProducerOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const db = new Client({ connectionString: this.o.url });
    db.on('error', () => undefined);
    await db.connect();
    const began = Date.now();
    try {
      while (!this.stopped) {
        // as many as the rate says by now: a slow round catches up in the next
        const due = Math.floor(((Date.now() - began) * this.o.rate) / 1000) - this.appended;
        if (due > 0) {
          const events = Array.from({ length: due }, () => ({ aggregate: `order-${randomUUID()}`, seq: 0, type: 'OrderPlaced', payload: this.order() }));
          this.last = await appendEvents(db, this.o.naming, events);
          this.appended += due;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await db.end().catch(() => undefined);
    }
  }

  private order(): OrderPlaced {
    const pick = (n: number) => Math.floor(Math.random() * n);
    return { customer: `c${pick(this.o.customers ?? 1000)}`, product: `p${pick(this.o.products ?? 100)}`, qty: 1 + pick(5), price: 10 + pick(7) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => undefined);
  }
}
