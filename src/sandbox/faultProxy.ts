/**
 * Faults in front of a target's API, for the chaos tests and bench: proxies
 * (HTTP, or TCP for PostgreSQL) that answer a share of calls as a failing
 * server or balancer does, reset a share, and delay the rest, drawn from a
 * seeded random so a run can be repeated. One injector holds the faults,
 * the random and the counts for any number of listeners.
 *
 * HTTP: a failed call is answered 503 with nginx's page and never reaches
 * the upstream; a reset one is reset either before it is forwarded or after
 * the upstream answered (its status line seen): the upstream applied it but
 * the caller never learns, which is what makes a retry apply a side effect
 * twice if it is not idempotent. Every call forwarded is recorded with the
 * upstream's status: what the system saw. TCP: a failed connection is closed
 * at once, a reset one is reset after a random part of a second of traffic,
 * the rest wait before they are connected.
 * (A TCP reset comes within 100 ms of the connection, while a client is
 * still authenticating or running its first statements.)
 */
import { request as httpRequest, Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Faults {
  /** Share of calls answered as a failing server does (HTTP 503; TCP closed at once). */
  fail: number;
  /** Share of calls reset. */
  reset: number;
  /** The rest are delayed by up to this long. */
  maxDelayMs: number;
}

export const NO_FAULTS: Faults = { fail: 0, reset: 0, maxDelayMs: 0 };

/** What an upstream saw of one HTTP call, and whether its caller got the answer. */
export interface ForwardedCall {
  method: string;
  path: string;
  body: string;
  status: number;
  /** reset after the upstream answered: the caller never read the status. */
  lost: boolean;
}

export interface FaultCounts {
  calls: number;
  failed: number;
  resetBefore: number;
  resetAfter: number;
  delayed: number;
}

/** nginx's own 503 page (ngx_http_special_response.c), as a balancer in front of an API answers when no upstream serves. */
const NGINX_503 =
  '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
const NGINX_502 = NGINX_503.replaceAll('503 Service Temporarily Unavailable', '502 Bad Gateway');

/** mulberry32: a small seeded generator, enough to repeat a run's faults. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fate = { kind: 'fail' } | { kind: 'reset'; after: boolean; atMs: number } | { kind: 'delay'; ms: number };

export class FaultInjector {
  private readonly random: () => number;
  private readonly servers: (Server | TcpServer)[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly agent = new Agent({ keepAlive: true });
  readonly counts: FaultCounts = { calls: 0, failed: 0, resetBefore: 0, resetAfter: 0, delayed: 0 };
  /** Every HTTP call that reached an upstream, in order. */
  readonly forwarded: ForwardedCall[] = [];

  constructor(
    public faults: Faults,
    seed: number,
  ) {
    this.random = seeded(seed);
  }

  private fate(): Fate {
    this.counts.calls += 1;
    const r = this.random();
    const { fail, reset, maxDelayMs } = this.faults;
    if (r < fail) {
      this.counts.failed += 1;
      return { kind: 'fail' };
    }
    if (r < fail + reset) {
      const after = this.random() < 0.5;
      if (after) this.counts.resetAfter += 1;
      else this.counts.resetBefore += 1;
      return { kind: 'reset', after, atMs: this.random() * 100 };
    }
    this.counts.delayed += 1;
    return { kind: 'delay', ms: this.random() * maxDelayMs };
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private async listen<S extends Server | TcpServer>(server: S): Promise<number> {
    this.servers.push(server);
    server.on('connection', (s: Socket) => this.track(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** A listener in front of an HTTP upstream (a base URL); returns its own base URL, the path kept. */
  async http(upstream: string): Promise<string> {
    const base = new URL(upstream);
    const server = createServer((req, res) => void this.forward(base, req, res));
    server.keepAliveTimeout = 5000;
    const port = await this.listen(server);
    return `http://127.0.0.1:${port}${base.pathname.replace(/\/+$/, '')}`;
  }

  private async forward(base: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const fate = this.fate();
    if (fate.kind === 'fail') {
      res.writeHead(503, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(NGINX_503) }).end(NGINX_503);
      return;
    }
    if (fate.kind === 'reset' && !fate.after) return void req.socket.resetAndDestroy();
    if (fate.kind === 'delay') await new Promise((r) => setTimeout(r, fate.ms));
    const path = req.url ?? '/';
    const headers = { ...req.headers, host: base.host };
    const up = httpRequest({ host: base.hostname, port: base.port, method: req.method, path, headers, agent: this.agent }, (answer) => {
      const call: ForwardedCall = { method: req.method ?? 'GET', path, body: body.toString(), status: answer.statusCode ?? 0, lost: fate.kind === 'reset' };
      this.forwarded.push(call);
      if (fate.kind === 'reset') {
        answer.resume();
        req.socket.resetAndDestroy();
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    // the upstream refuses or drops the connection: a balancer answers 502
    up.on('error', () => {
      if (!res.headersSent && !res.destroyed) res.writeHead(502, { 'content-type': 'text/html' }).end(NGINX_502);
      else res.destroy();
    });
    res.on('close', () => up.destroy());
    up.end(body);
  }

  /** A listener in front of a TCP port on loopback (PostgreSQL); returns its port. */
  async tcp(upstreamPort: number): Promise<number> {
    const server = createTcpServer((client) => this.pipe(client, upstreamPort));
    return this.listen(server);
  }

  private pipe(client: Socket, upstreamPort: number): void {
    const fate = this.fate();
    if (fate.kind === 'fail') return void client.destroy();
    const start = (): void => {
      if (client.destroyed) return;
      const server = connect(upstreamPort, '127.0.0.1');
      this.track(server);
      client.pipe(server).pipe(client);
      const both = (): void => {
        client.destroy();
        server.destroy();
      };
      client.on('error', both).on('close', both);
      server.on('error', both).on('close', both);
      if (fate.kind === 'reset') {
        setTimeout(() => {
          client.resetAndDestroy();
          server.destroy();
        }, fate.atMs).unref();
      }
    };
    if (fate.kind === 'delay') setTimeout(start, fate.ms);
    else start();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }
}
