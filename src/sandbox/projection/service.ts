/**
 * The sandbox's event-sourced service, one process per release: a tracking
 * processor (its own name, its own token in the event store's token table)
 * builds the release's read model in the release's own database, and an HTTP
 * server answers queries. What it does follows its phase, learnt from
 * cutover's long poll: INITIALISING builds and reports ready once caught up
 * and self-tested; SERVING builds and answers; STANDING_BY builds but refuses
 * queries (so a rollback finds it current); CLEANING_UP drops its tables.
 */
import { createServer, type Server } from 'node:http';
import { Client } from 'pg';
import type { Phase } from '../../domain/phases';
import { catchUpQueries } from '../../domain/projection/source';
import { GAP_AWARE_TOKEN_TYPE, gapAwareToken, readEvents, saveToken, type AxonNaming } from './axonStore';
import { serviceMetrics, type ServiceMetrics } from './metrics';
import { readModelFor, type ReadModel } from './readModels';

export interface ProjectionServiceOptions {
  target: string;
  release: string;
  version: string;
  /** Where it answers (a pod's IP on Kubernetes); default 127.0.0.1. */
  host?: string;
  port: number;
  eventStoreUrl: string;
  naming: AxonNaming;
  processor: string;
  readDbUrl: string;
  /** cutover's API and a token that may read this target's phases and report ready. */
  api: { url: string; token: string };
  /** The phase while no upgrade names this release (the target's first release serves). */
  initialPhase: Phase;
  batchSize?: number;
  /** Lag at or below which the release reports ready. */
  readyLag?: number;
  /** The processor stops at this position: a stalled green, for the demo. */
  stallAt?: number;
  /** After leaving SERVING, queries already routed here are still answered this long (nginx moves first). */
  drainMs?: number;
  /**
   * Microseconds each event's handlers take besides the read model's own writes (a real handler's
   * lookups and calls), spent as a wait per batch: what bounds a real replay (thousands of events
   * per second), where the sandbox's batched upserts alone run at 55,000+ events/s. Default 0.
   */
  handlerCostUs?: number;
}

const PROCESSING: Phase[] = ['INITIALISING', 'SERVING', 'STANDING_BY'];

/** A GapAwareTrackingToken as Axon's XStream serializer writes it (no gaps: the sandbox store has none). */
export class ProjectionService {
  phase: Phase;
  /** Share of the target's queries cutover routes here (0 to 100). */
  weight = 0;
  position = -1;
  head = -1;
  reportedReady = false;
  /** Until when a release that has just stopped serving still answers what nginx sent before it switched. */
  private drainingUntil = 0;
  private stopped = false;
  private readonly model: ReadModel;
  private server: Server | undefined;
  private store!: Client;
  private read!: Client;
  private loops: Promise<void>[] = [];
  private readonly headQuery: string;
  private readonly metrics: ServiceMetrics;

  constructor(private readonly o: ProjectionServiceOptions) {
    this.phase = o.initialPhase;
    this.metrics = serviceMetrics(o.release, () => (this.head < 0 ? undefined : Math.max(0, this.head - this.position)));
    this.model = readModelFor(o.version);
    this.headQuery = catchUpQueries({ preset: 'axon', naming: o.naming, tokenStorage: 'bytea' }).head;
  }

  async start(): Promise<void> {
    this.store = await connect(this.o.eventStoreUrl);
    this.read = await connect(this.o.readDbUrl);
    await this.model.create(this.read);
    this.position = await this.model.position(this.read);
    this.phase = await this.firstPhase();
    this.server = createServer((req, res) => void this.handle(req.url ?? '/', res));
    await new Promise<void>((r) => this.server!.listen(this.o.port, this.o.host ?? '127.0.0.1', r));
    this.loops = [this.followPhase(), this.process()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await new Promise((r) => this.server?.close(r));
    await Promise.allSettled(this.loops);
    await Promise.allSettled([this.store.end(), this.read.end()]);
  }

  private async handle(url: string, res: import('node:http').ServerResponse): Promise<void> {
    const customer = /^\/customers\/([\w-]+)$/.exec(url);
    const { release, version, phase } = this;
    const send = (status: number, body: unknown): void => {
      if (customer) this.metrics.queries.inc({ release, status: String(status) });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    try {
      if (url === '/status') return send(200, { release, version, phase, position: this.position, head: this.head, processor: this.o.processor });
      if (url === '/catch-up') return send(200, { position: this.position, head: this.head });
      if (url === '/metrics') return void res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(await this.metrics.registry.metrics());
      if (!customer) return send(404, { error: 'no such route' });
      // queries only while SERVING (or routed here: the weight reaches a service with the phase) and the drain after it;
      // a STANDING_BY release keeps building but must not answer
      if (phase !== 'SERVING' && this.weight === 0 && Date.now() >= this.drainingUntil) return send(503, { error: `${release} is ${phase}, not serving queries`, release });
      const row = await this.model.customer(this.read, customer[1]);
      return send(row ? 200 : 404, { release, version, position: this.position, ...(row ?? { error: 'no such customer' }) });
    } catch (err) {
      return send(500, { error: (err as Error).message, release });
    }
  }

  private get release(): string {
    return this.o.release;
  }

  private get version(): string {
    return this.o.version;
  }

  /** The phase before anything runs: no upgrade names this release (404) means the initial phase. */
  private async firstPhase(): Promise<Phase> {
    const { target, release, api } = this.o;
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${api.url}/v1/targets/${target}/releases/${release}/phase`, { headers: { authorization: `Bearer ${api.token}` }, signal: AbortSignal.timeout(5000) }).catch(() => undefined);
      if (res?.ok) {
        const answer = (await res.json()) as { phase: Phase; weight?: number };
        this.weight = answer.weight ?? 0;
        return answer.phase;
      }
      if (res?.status === 404 || attempt >= 30) return this.o.initialPhase;
      await sleep(1000); // cutover's API is starting
    }
  }

  /** Long polls cutover for this release's phase; while no upgrade names it, keeps the initial phase. */
  private async followPhase(): Promise<void> {
    const { target, release, api } = this.o;
    while (!this.stopped) {
      try {
        const url = `${api.url}/v1/targets/${target}/releases/${release}/phase?waitForChange=30s&phase=${this.phase}&weight=${this.weight}`;
        const res = await fetch(url, { headers: { authorization: `Bearer ${api.token}` }, signal: AbortSignal.timeout(35_000) });
        if (res.ok) {
          const next = (await res.json()) as { phase: Phase; weight?: number };
          if ((next.weight ?? 0) === 0 && this.weight > 0) this.drainingUntil = Date.now() + (this.o.drainMs ?? 2000);
          this.weight = next.weight ?? 0;
          if (next.phase !== this.phase) await this.enter(next.phase);
          continue;
        }
      } catch {
        // cutover restarting: ask again shortly
      }
      await sleep(1000);
    }
  }

  private async enter(phase: Phase): Promise<void> {
    const drainMs = this.o.drainMs ?? 2000;
    if (this.phase === 'SERVING') this.drainingUntil = Date.now() + drainMs;
    this.phase = phase;
    if (phase === 'CLEANING_UP') {
      await sleep(drainMs);
      await this.model.drop(this.read);
    }
  }

  private async process(): Promise<void> {
    while (!this.stopped) {
      try {
        const { rows } = await this.store.query<{ head: string | null }>(this.headQuery);
        this.head = rows[0].head === null ? -1 : Number(rows[0].head);
        const stalled = this.o.stallAt !== undefined && this.position >= this.o.stallAt;
        if (!PROCESSING.includes(this.phase) || stalled) {
          await sleep(200);
          continue;
        }
        const limit = this.o.stallAt !== undefined ? Math.min(this.o.batchSize ?? 5000, this.o.stallAt - this.position) : (this.o.batchSize ?? 5000);
        const events = await readEvents(this.store, this.o.naming, this.position, Math.max(1, limit));
        if (events.length) {
          if (this.o.handlerCostUs) await sleep((events.length * this.o.handlerCostUs) / 1000);
          this.position = await this.model.apply(this.read, events);
          this.metrics.events.inc({ release: this.release }, events.length);
          await saveToken(this.store, { naming: this.o.naming, tokenStorage: 'bytea' }, { processor: this.o.processor, segment: 0, token: gapAwareToken(this.position, 'xml'), tokenType: GAP_AWARE_TOKEN_TYPE, owner: this.o.release });
        }
        if (this.phase === 'INITIALISING' && !this.reportedReady) await this.reportReadyIfCaughtUp();
        if (events.length < limit) await sleep(100);
      } catch (err) {
        if (this.stopped) return;
        console.error(`${this.o.release}: processing failed, retrying: ${(err as Error).message}`);
        await sleep(1000);
      }
    }
  }

  /** Caught up and the self-test passes (the read model answers a query): tell cutover. */
  private async reportReadyIfCaughtUp(): Promise<void> {
    if (this.head - this.position > (this.o.readyLag ?? 100)) return;
    const probe = await this.model.customer(this.read, 'c1');
    const detail = `position ${this.position} of ${this.head}; self-test ${probe ? 'answered customer c1' : 'found no customer c1'}`;
    if (!probe) return;
    const { target, release, api } = this.o;
    const res = await fetch(`${api.url}/v1/targets/${target}/releases/${release}/ready`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ready: true, detail }),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    this.reportedReady = res?.ok ?? false;
  }
}

async function connect(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined); // a dropped database ends the connection; the loops notice
  await c.connect();
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
