/**
 * One sandbox EMQX node: an aedes MQTT 3.1.1 broker on the cluster's backplane,
 * its membership heartbeat, and its eviction agent, which runs the node's
 * evacuation (./evacuation.ts, EMQX's state machine) one step per second:
 * connections closed at conn_evict_rate, offline sessions handed to the
 * recipients at sess_evict_rate.
 */
import type { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import persistenceRedis from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import { ClusterState, type Member } from './backplane';
import { resumeEvacuation, stepEvacuation, type EvacuationRecord } from './evacuation';
import { connackFirst } from './connackFirst';
import { nodeMetrics } from './metrics';

export interface BrokerOptions {
  member: Member;
  mqttPort: number;
  backplaneUrl: string;
}

const HEARTBEAT_MS = 100;
const STEP_MS = 1000;
/** MQTT 3.1.1 CONNACK "server unavailable": what EMQX answers a 3.1.1 client while evacuating. */
const SERVER_UNAVAILABLE = 3;

export class SandboxBroker {
  readonly state: ClusterState;
  /** This node's evacuation as last read from the backplane; null when none. */
  evacuation: EvacuationRecord | null = null;
  private readonly clients = new Map<string, Client>();
  private aedes?: Aedes;
  private server?: Server;
  private timer?: NodeJS.Timeout;
  private nextStep = 0;
  private closing = false;
  readonly metrics = nodeMetrics({ live: () => this.live, sessions: async () => (await this.state.counts(this.node)).sessions });

  constructor(private readonly o: BrokerOptions) {
    this.state = ClusterState.connect(o.backplaneUrl);
  }

  get node(): string {
    return this.o.member.node;
  }

  get live(): number {
    return this.clients.size;
  }

  async start(): Promise<void> {
    const redis = new URL(this.o.backplaneUrl);
    const conn = { host: redis.hostname, port: Number(redis.port) };
    const mq = mqemitterRedis({
      ...conn,
      // ioredis 5 writes a SUBSCRIBE issued during a reconnect's handshake before its ready check,
      // whose INFO then fails ("Connection in subscriber mode") (ioredis #2037): no ready check on
      // the subscriber, which needs none on a loopback Redis; it resubscribes once connected.
      subConn: new Redis({ ...conn, enableReadyCheck: false }),
    });
    // mqemitter-redis re-emits its connections' errors on `state`; unheard, they would end the process.
    (mq as unknown as { state: EventEmitter }).state.on('error', (err: Error) => process.stderr.write(`${this.node}: backplane pub/sub: ${err.message}\n`));
    this.aedes = new Aedes({
      id: this.node,
      mq,
      persistence: persistenceRedis(conn),
      // EMQX accepts client ids up to 65535 bytes; aedes' default of 23 would refuse ordinary ones.
      maxClientsIdLength: 256,
      // called once per message about to be delivered to a client of this node
      authorizeForward: (_client, packet) => {
        this.metrics.sent.inc();
        return packet;
      },
      // Read at each CONNECT, not from the last tick: EMQX enables its eviction agent before the start call answers.
      authenticate: (_client, _user, _pass, done) => {
        this.state.evacuation(this.node).then(
          (evacuating) => {
            if (!evacuating) return done(null, true);
            done(Object.assign(new Error('node evacuating'), { returnCode: SERVER_UNAVAILABLE }) as AuthenticateError, false);
          },
          (err: Error) => done(Object.assign(err, { returnCode: SERVER_UNAVAILABLE }) as AuthenticateError, false),
        );
      },
    });
    const holdUntilConnack = connackFirst(this.aedes);
    this.aedes.preConnect = (client, _packet, done) => {
      holdUntilConnack(client);
      done(null, true);
    };
    await this.aedes.listen();
    this.aedes.on('client', (c) => {
      this.clients.set(c.id, c);
      void this.state.claimSession(c.id, this.node);
    });
    this.aedes.on('clientDisconnect', (c) => {
      // A takeover registers the new client before this one's disconnect arrives.
      if (this.clients.get(c.id) === c) this.clients.delete(c.id);
      if (c.clean) void this.state.releaseSession(c.id, this.node);
    });
    this.aedes.on('publish', (_packet, client) => {
      if (client) this.metrics.received.inc(); // not $SYS or a message from another node
    });
    this.aedes.on('connectionError', (c, err) => process.stderr.write(`${this.node}: connection of ${c.id ?? '?'}: ${err.message}\n`));
    const aedes = this.aedes;
    this.server = createServer((socket) => aedes.handle(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.mqttPort, '127.0.0.1', resolve);
    });
    // A restarted node resumes a persisted evacuation by evicting at once.
    const persisted = await this.state.evacuation(this.node);
    if (persisted) {
      const counts = await this.state.counts(this.node);
      await this.state.updateEvacuation(this.node, resumeEvacuation(persisted, { now: Date.now(), live: 0, sessions: counts.sessions }));
    }
    await this.state.join(this.o.member);
    await this.tick();
  }

  async stop(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await new Promise<void>((r) => (this.aedes ? this.aedes.close(() => r()) : r()));
    await this.state.stopped(this.node);
    await this.state.close();
  }

  /** Heartbeat and evacuation poll; one evacuation step per elapsed second. */
  private async tick(): Promise<void> {
    try {
      await this.state.heartbeat(this.node, this.live);
      this.evacuation = await this.state.evacuation(this.node);
      const now = Date.now();
      if (!this.evacuation) this.nextStep = 0;
      else if (now >= this.nextStep) {
        // Behind by more than a step (a stalled loop): do not burst to catch up.
        this.nextStep = this.nextStep === 0 || now - this.nextStep > STEP_MS ? now + STEP_MS : this.nextStep + STEP_MS;
        await this.step(this.evacuation, now);
      }
    } catch (err) {
      process.stderr.write(`${this.node}: backplane: ${(err as Error).message}\n`);
    }
    if (!this.closing) this.timer = setTimeout(() => void this.tick(), HEARTBEAT_MS);
  }

  private async step(e: EvacuationRecord, now: number): Promise<void> {
    const [owned, to] = await Promise.all([this.state.sessionsOf(this.node), this.recipients(e)]);
    const step = stepEvacuation(e, { now, live: this.clients.size, sessions: owned.length, recipients: to.length });
    if (step.record === null) await this.state.stopEvacuation(this.node);
    else if (step.record !== e) await this.state.updateEvacuation(this.node, step.record);
    this.evacuation = step.record;
    // MQTT 3.1.1 has no server redirect: the clients reconnect through the load balancer.
    for (const c of [...this.clients.values()].slice(0, step.closeConnections)) c.close();
    const offline = owned.filter((id) => !this.clients.has(id)).slice(0, step.migrateSessions);
    await Promise.all(offline.map((id, i) => this.state.moveSession(id, this.node, to[i % to.length]!)));
  }

  /** The migrate_to nodes, or else every other node, that can take sessions. */
  private async recipients(e: EvacuationRecord): Promise<string[]> {
    const available = (await this.state.available()).filter((n) => n !== this.node);
    return e.migrateTo ? available.filter((n) => e.migrateTo!.includes(n)) : available;
  }
}
