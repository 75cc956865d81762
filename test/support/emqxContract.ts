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

/** The value at a path of the body (`[2].uptime`, `message`); `*` is every index. */
function at(value: unknown, path: string[]): unknown[] {
  if (path.length === 0) return [value];
  const [head, ...rest] = path;
  if (head === '*') return Array.isArray(value) ? value.flatMap((v) => at(v, rest)) : [];
  if (value === null || typeof value !== 'object') return [undefined];
  return at((value as Record<string, unknown>)[head!], rest);
}
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
  for (const [path, rule] of Object.entries(varies)) {
    const got = at(actual.body, split(path));
    for (const v of got) {
      if ('type' in rule && typeof v !== rule.type) out.push(`${path}: ${JSON.stringify(v)} is no ${rule.type}`);
      if ('includes' in rule && !(typeof v === 'string' && rule.includes.every((w) => v.includes(w)))) {
        out.push(`${path}: ${JSON.stringify(v)} does not name ${rule.includes.join(', ')}`);
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
 * Answers as the fixture says: each request gets the first exchange not yet
 * used with its method, path and body (the last one again once all are
 * used); a request the fixture does not hold gets 599, so a test sees it.
 */
export class FixtureServer {
  readonly requests: { method: string; path: string; body?: unknown }[] = [];
  private readonly used = new Set<Exchange>();

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
    const matching = this.fixture.exchanges.filter(
      (e) => e.request.method === r.method && e.request.path === r.path && (e.request.body === undefined || isDeepStrictEqual(e.request.body, r.body)),
    );
    const next = matching.find((e) => !this.used.has(e)) ?? matching[matching.length - 1];
    if (next) this.used.add(next);
    return next?.response;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
