/**
 * EMQX's contract fixtures (test/fixtures/contracts/emqx/<contract>/*.json):
 * what the real REST API answers in each state cutover meets, read from
 * emqx/emqx at the tags each file names. A fixture is a cluster state and an
 * ordered transcript of requests and answers from it. This module loads them,
 * replays one as an HTTP server (what cutover's production client is tested
 * against), and compares any server's answer with the fixture's (what the
 * stand-ins are tested with).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { EmqxEdition } from '../../src/domain/emqx/versions';

export const CONTRACTS_DIR = join(__dirname, '..', 'fixtures', 'contracts', 'emqx');

export interface FixtureEvacuation {
  state: 'waiting_health_check' | 'evicting_conns' | 'waiting_takeover' | 'evicting_sessions' | 'prohibiting';
  connRate: number;
  sessRate: number;
  waitTakeoverSec: number;
  waitHealthCheckSec: number;
  migrateTo?: string[];
  initialConns: number;
  initialSessions: number;
}

/** A node of the fixture's cluster, as a stand-in is set up with it. */
export interface FixtureNode {
  node: string;
  role: 'core' | 'replicant';
  status: 'running' | 'stopped';
  sessions?: number;
  live?: number;
  /** Running, but its RPCs fail (a network partition, an overloaded node). */
  unreachable?: boolean;
  /** Another process (a rebalance, a purge) holds its eviction agent. */
  agentBusy?: boolean;
  evacuation?: FixtureEvacuation;
}

export interface FixtureCluster {
  /** The node whose dashboard answers. */
  self: string;
  release: { version: string; edition: EmqxEdition };
  nodes: FixtureNode[];
}

type Rule = { type: 'number' | 'string' } | { includes: string[] };

export interface Exchange {
  name: string;
  source: string;
  request: { method: string; path: string; body?: unknown };
  response: { status: number; body?: unknown };
  /** Paths (`[*].uptime`, `message`) whose value may differ: same JSON type, or a text that includes these words. */
  varies?: Record<string, Rule>;
  /** `includes`: the fixture's keys must be answered as given, other keys may be there too. */
  compare?: 'includes';
}

export interface Fixture {
  file: string;
  contract: string;
  covers: string;
  edition: EmqxEdition;
  scenario: string;
  cluster: FixtureCluster;
  exchanges: Exchange[];
}

export function loadFixtures(): Fixture[] {
  return readdirSync(CONTRACTS_DIR)
    .sort()
    .flatMap((contract) =>
      readdirSync(join(CONTRACTS_DIR, contract))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => ({ ...(JSON.parse(readFileSync(join(CONTRACTS_DIR, contract, f), 'utf8')) as Omit<Fixture, 'file'>), file: `${contract}/${f}` })),
    );
}

export function fixture(file: string): Fixture {
  const found = loadFixtures().find((f) => f.file === file);
  if (!found) throw new Error(`no contract fixture ${file} in ${CONTRACTS_DIR}`);
  return found;
}

/** The concrete paths (`[2].uptime` as ['2', 'uptime']) where a body has a value; `*` is every index. */
function concrete(value: unknown, path: string[], prefix: string[] = []): string[][] {
  if (path.length === 0) return value === undefined ? [] : [prefix];
  const [head, ...rest] = path;
  if (value === null || typeof value !== 'object') return [];
  const keys = head === '*' ? Object.keys(value) : [head!];
  return keys.flatMap((k) => concrete((value as Record<string, unknown>)[k], rest, [...prefix, k]));
}
const valueAt = (value: unknown, path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
const split = (path: string): string[] => path.replace(/\[(\*|\d+)\]/g, '.$1').split('.').filter(Boolean);

/** The body with every varying path set to a marker, so the rest compares exactly. */
function masked(body: unknown, varies: Record<string, Rule>): unknown {
  const copy = structuredClone(body);
  for (const path of Object.keys(varies)) {
    const parts = split(path);
    const visit = (v: unknown, i: number): void => {
      if (v === null || typeof v !== 'object') return;
      const key = parts[i]!;
      const targets = key === '*' ? Object.keys(v) : [key];
      for (const k of targets) {
        if (!(k in (v as object))) continue;
        if (i === parts.length - 1) (v as Record<string, unknown>)[k] = '<varies>';
        else visit((v as Record<string, unknown>)[k], i + 1);
      }
    };
    visit(copy, 0);
  }
  return copy;
}

/** Every way `actual` differs from what the exchange says the real EMQX answers; empty when it is the same. */
export function differences(exchange: Exchange, actual: { status: number; body?: unknown }): string[] {
  const want = exchange.response;
  const out: string[] = [];
  if (actual.status !== want.status) out.push(`status ${actual.status}, real EMQX ${want.status}`);
  const varies = exchange.varies ?? {};
  // Where the real EMQX prints a varying value, the stand-in must print one of the same kind.
  for (const [path, rule] of Object.entries(varies)) {
    for (const where of concrete(want.body, split(path))) {
      const v = valueAt(actual.body, where);
      if ('type' in rule && typeof v !== rule.type) out.push(`${where.join('.')}: ${JSON.stringify(v)} is no ${rule.type}`);
      if ('includes' in rule && !(typeof v === 'string' && rule.includes.every((w) => v.includes(w)))) {
        out.push(`${where.join('.')}: ${JSON.stringify(v)} does not name ${rule.includes.join(', ')}`);
      }
    }
  }
  if (exchange.compare === 'includes') {
    const body = (actual.body ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(want.body as Record<string, unknown>)) {
      if (!isDeepStrictEqual(body[k], v)) out.push(`${k}: ${JSON.stringify(body[k])}, real EMQX ${JSON.stringify(v)}`);
    }
  } else {
    const a = masked(actual.body, varies);
    const w = masked(want.body, varies);
    if (!isDeepStrictEqual(a, w)) out.push(`body ${JSON.stringify(a)}\n  real EMQX ${JSON.stringify(w)}`);
  }
  return out;
}

/**
 * Answers as the fixture says, following its transcript: a write (any method
 * but GET) is answered by the first exchange for it after the last write
 * answered (or, if none is left, its last one) and moves the transcript on;
 * a read is answered as of that point: by the next exchange for it if no
 * write comes first, else by the last one before. A request the fixture does
 * not hold gets 599, so a test sees it.
 */
export class FixtureServer {
  readonly requests: { method: string; path: string; body?: unknown }[] = [];
  /** Index of the last write answered. */
  private cursor = -1;

  private constructor(
    private readonly server: Server,
    readonly fixture: Fixture,
  ) {}

  static async start(f: Fixture): Promise<FixtureServer> {
    const server = createServer();
    const s = new FixtureServer(server, f);
    server.on('request', (req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => {
        const request = { method: req.method ?? 'GET', path: decodeURIComponent(req.url ?? '/'), ...(raw ? { body: JSON.parse(raw) as unknown } : {}) };
        s.requests.push(request);
        const answer = s.answer(request);
        if (!answer) {
          res.writeHead(599, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ code: 'NOT_IN_FIXTURE', message: `${f.file} holds no ${request.method} ${request.path}` }));
        }
        res.writeHead(answer.status, answer.body === undefined ? {} : { 'content-type': 'application/json' });
        res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private answer(r: { method: string; path: string; body?: unknown }): Exchange['response'] | undefined {
    const all = this.fixture.exchanges;
    const matches = (e: Exchange): boolean =>
      e.request.method === r.method && e.request.path === r.path && (e.request.body === undefined || isDeepStrictEqual(e.request.body, r.body));
    const lastIndex = (pick: (e: Exchange, i: number) => boolean): number => all.reduce((found, e, i) => (pick(e, i) ? i : found), -1);
    const after = all.findIndex((e, i) => i > this.cursor && matches(e));
    if (r.method !== 'GET') {
      const i = after >= 0 ? after : lastIndex(matches);
      if (i >= 0) this.cursor = i;
      return all[i]?.response;
    }
    const writeBetween = all.some((e, i) => i > this.cursor && i < after && e.request.method !== 'GET');
    const before = lastIndex((e, i) => i <= this.cursor && matches(e));
    const i = after >= 0 && (!writeBetween || before < 0) ? after : before;
    return all[i]?.response;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
