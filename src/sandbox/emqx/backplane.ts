/**
 * The backplane that makes separate sandbox EMQX node processes one broker: a
 * Redis server per cluster. aedes' mqemitter-redis carries every publish to
 * every node, aedes-persistence-redis keeps sessions, subscriptions and queued
 * QoS 1 messages where any node finds them (session takeover), and the keys
 * below hold what EMQX keeps in its own cluster state: membership, liveness,
 * per-node counts, which node owns each session, and evacuations (persisted,
 * so they survive a node restart as EMQX's do).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnOwnGroup } from '../../runtime/childProcess';
import type { EmqxEdition } from '../../domain/emqx/versions';
import type { EvacuationRecord } from './evacuation';

/** A member as it joined; liveness and counts are kept apart because they change. */
export interface Member {
  node: string;
  version: string;
  role: 'core' | 'replicant';
  edition: EmqxEdition;
  /** Epoch ms of this node's start. */
  startedAt: number;
  apiUrl: string;
  mqttUrl: string;
}

export interface NodeConditions {
  unreachable?: boolean;
  agentBusy?: boolean;
}

export interface NodeCounts {
  live: number;
  sessions: number;
}

/** A node whose heartbeat key is older than this counts as stopped. */
export const ALIVE_TTL_MS = 3000;

const MEMBERS = 'emqx:members';
/** Every node name the cluster ever met: an atom on its nodes (migrate_to names outside it are invalid). */
const KNOWN = 'emqx:known';
/** Per node, conditions a test puts it in: RPCs to it fail, or another process holds its eviction agent. */
const CONDITIONS = 'emqx:conditions';
const OWNER = 'emqx:session-owner';
const alive = (node: string): string => `emqx:alive:${node}`;
const liveKey = (node: string): string => `emqx:live:${node}`;
const sessions = (node: string): string => `emqx:sessions:${node}`;
const evacuation = (node: string): string => `emqx:evacuation:${node}`;

// Atomic, so a takeover racing a migration never leaves a session on two nodes.
const CLAIM = `local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and old ~= ARGV[2] then redis.call('SREM', 'emqx:sessions:' .. old, ARGV[1]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', 'emqx:sessions:' .. ARGV[2], ARGV[1])`;
const MOVE = `if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SMOVE', 'emqx:sessions:' .. ARGV[2], 'emqx:sessions:' .. ARGV[3], ARGV[1])
return 1`;
const RELEASE = `if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', 'emqx:sessions:' .. ARGV[2], ARGV[1])
return 1`;

/** The cluster's shared state, as one node (or a launcher) sees it. */
export class ClusterState {
  constructor(readonly redis: Redis) {}

  static connect(url: string): ClusterState {
    return new ClusterState(new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 }));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  async join(m: Member): Promise<void> {
    await this.redis.multi().hset(MEMBERS, m.node, JSON.stringify(m)).sadd(KNOWN, m.node).exec();
  }

  async known(node: string): Promise<boolean> {
    return (await this.redis.sismember(KNOWN, node)) === 1;
  }

  /** A test's lever: the node's RPCs fail, or its eviction agent is held elsewhere. */
  async setConditions(node: string, c: NodeConditions): Promise<void> {
    await this.redis.hset(CONDITIONS, node, JSON.stringify(c));
  }

  /** The node runs, with `live` clients, for the next `ttlMs`. */
  async heartbeat(node: string, live: number, ttlMs = ALIVE_TTL_MS): Promise<void> {
    await this.redis.multi().set(alive(node), '1', 'PX', ttlMs).set(liveKey(node), String(live)).exec();
  }

  /** A clean stop: listed as stopped at once, not after the heartbeat lapses. */
  async stopped(node: string): Promise<void> {
    await this.redis.del(alive(node), liveKey(node));
  }

  /** A node that leaves takes its evacuation with it: a later node of the same name starts fresh, as a new pod does. */
  async forget(node: string): Promise<boolean> {
    const [removed] = await Promise.all([this.redis.hdel(MEMBERS, node), this.redis.del(evacuation(node)), this.redis.hdel(CONDITIONS, node)]);
    return removed === 1;
  }

  /** Every member, running or not, with its conditions. */
  async members(): Promise<(Member & NodeConditions & { running: boolean })[]> {
    const [all, conditions] = await Promise.all([this.redis.hgetall(MEMBERS), this.redis.hgetall(CONDITIONS)]);
    const members = Object.values(all).map((v) => JSON.parse(v) as Member);
    if (members.length === 0) return [];
    const up = await this.redis.mget(...members.map((m) => alive(m.node)));
    return members
      .map((m, i) => ({ ...m, ...(JSON.parse(conditions[m.node] ?? '{}') as NodeConditions), running: up[i] !== null }))
      .sort((a, b) => a.node.localeCompare(b.node));
  }

  /** Running, answering members that are not evacuating: where clients and sessions may go. */
  async available(): Promise<string[]> {
    const running = (await this.members()).filter((m) => m.running && !m.unreachable).map((m) => m.node);
    const evacuating = await Promise.all(running.map((n) => this.redis.exists(evacuation(n))));
    return running.filter((_, i) => evacuating[i] === 0);
  }

  async counts(node: string): Promise<NodeCounts> {
    const [live, count] = await Promise.all([this.redis.get(liveKey(node)), this.redis.scard(sessions(node))]);
    return { live: Number(live ?? 0), sessions: count };
  }

  /** The session of a client that connected to `node` is now there (takeover from wherever it was). */
  async claimSession(clientId: string, node: string): Promise<void> {
    await this.redis.eval(CLAIM, 1, OWNER, clientId, node);
  }

  /** A clean session ended on its node: nothing of it remains. */
  async releaseSession(clientId: string, node: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, OWNER, clientId, node);
  }

  async moveSession(clientId: string, from: string, to: string): Promise<boolean> {
    return (await this.redis.eval(MOVE, 1, OWNER, clientId, from, to)) === 1;
  }

  async sessionsOf(node: string): Promise<string[]> {
    return this.redis.smembers(sessions(node));
  }

  async evacuation(node: string): Promise<EvacuationRecord | null> {
    const v = await this.redis.get(evacuation(node));
    return v === null ? null : (JSON.parse(v) as EvacuationRecord);
  }

  /** false when one is already recorded (EMQX's already_started). */
  async startEvacuation(node: string, r: EvacuationRecord): Promise<boolean> {
    return (await this.redis.set(evacuation(node), JSON.stringify(r), 'NX')) === 'OK';
  }

  /** Moves an evacuation on, unless it was stopped meanwhile. */
  async updateEvacuation(node: string, r: EvacuationRecord): Promise<void> {
    await this.redis.set(evacuation(node), JSON.stringify(r), 'XX');
  }

  async stopEvacuation(node: string): Promise<boolean> {
    return (await this.redis.del(evacuation(node))) === 1;
  }
}

export interface Backplane {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function redisServerPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error("redis-server not found: run 'npm run bootstrap' (it installs Debian's redis-server)");
  return found;
}

/**
 * Starts a Redis server on loopback for one sandbox cluster, its files under
 * `dir`. Its append-only file keeps membership, sessions and evacuations, so
 * a cluster restarted by `npm start` finds itself as it was, as EMQX does.
 */
export async function startBackplane(o: { port: number; dir: string; startTimeoutMs?: number }): Promise<Backplane> {
  mkdirSync(o.dir, { recursive: true });
  const args = ['--port', String(o.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', o.dir, '--logfile', join(o.dir, 'redis.log')];
  const child = spawnOwnGroup(redisServerPath(), args, { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${o.port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + (o.startTimeoutMs ?? 10_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}; see ${join(o.dir, 'redis.log')}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return { url, process: child, stop };
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server did not answer on ${url} in time; see ${join(o.dir, 'redis.log')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
