/**
 * The demo's HTTP load: a GET whose connection closes before any answer is
 * sent once more and counted as retried, as standard clients do; a 5xx or a
 * second close is a failure, never hidden. Then the case it exists for: nginx
 * reloaded over and over under a keep-alive load loses no request.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../src/runtime/freePort';
import { startHttpLoad } from '../../../src/sandbox/load/httpLoad';
import { Nginx } from '../../../src/sandbox/nginx';

let server: Server;
let base = '';
const seen: Record<string, number> = {};

const sockets = new Set<Socket>();
const doomed = new Set<Socket>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const n = (seen[req.url!] = (seen[req.url!] ?? 0) + 1);
    // /once closes the connection of its 5th request without a byte of answer; /always closes every one
    if ((req.url === '/once' && n === 5) || req.url === '/always') return req.socket.destroy();
    // /all-at-once: from its 10th request on, every connection open then is closed at its next request, as if
    // nginx's old worker had closed them all and the client had not yet seen it
    if (req.url === '/all-at-once') {
      if (n === 10) for (const s of sockets) doomed.add(s);
      if (doomed.has(req.socket)) return req.socket.destroy();
      return setTimeout(() => res.writeHead(200).end('ok'), 40);
    }
    res.setHeader('via', '1.1 test');
    res.writeHead(req.url === '/fail' ? 500 : 200).end('ok');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const run = async (path: string, ms = 1000) => {
  const load = startHttpLoad({ url: `${base}${path}`, rate: 50, connections: 4 });
  await new Promise((r) => setTimeout(r, ms));
  return load.stop();
};

test('a connection closed before any answer: the GET is sent once more, counted as retried, and answered', async () => {
  const s = await run('/once');
  expect(s.failed).toBe(0);
  expect(Object.values(s.retried).reduce((a, b) => a + b, 0)).toBe(1);
  expect(s.events).toEqual([expect.objectContaining({ what: 'retried' })]);
  expect(s.byStatus).toEqual({ '200': s.requests });
  expect(s.byVia).toEqual({ '1.1 test': { answers: s.requests, failed: 0 } });
  expect(seen['/once']).toBe(s.requests + 1);
});

test('every connection closed at once: each GET that was on one is sent again on a new connection of its own and answered', async () => {
  const s = await run('/all-at-once', 1500);
  expect(doomed.size).toBeGreaterThanOrEqual(2);
  expect(s.failed).toBe(0);
  expect(Object.values(s.retried).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
  expect(s.byStatus).toEqual({ '200': s.requests });
  expect(seen['/all-at-once']).toBe(s.requests + Object.values(s.retried).reduce((a, b) => a + b, 0));
});

test('closed again on the retry, or answered 500: failed, each request retried at most once', async () => {
  const closed = await run('/always');
  expect(closed.failed).toBe(closed.requests);
  expect(Object.values(closed.retried).reduce((a, b) => a + b, 0)).toBe(closed.requests);
  expect(Object.values(closed.errors).reduce((a, b) => a + b, 0)).toBe(closed.requests);
  expect(seen['/always']).toBe(2 * closed.requests);

  const failing = await run('/fail');
  expect(failing.failed).toBe(failing.requests);
  expect(failing.retried).toEqual({});
  expect(failing.byVia['1.1 test']).toEqual({ answers: failing.requests, failed: failing.requests });
});

test('nginx reloaded 40 times under a keep-alive load at 100/s: every request answered, none failed', async () => {
  const nginx = new Nginx(mkdtempSync(join(tmpdir(), 'cutover-httpload-')));
  const [listen, statusPort] = [await freePort(), await freePort()];
  const port = Number(new URL(base).port);
  const routes = (weight: number) => ({
    statusPort,
    streams: [],
    // the same backend twice, so each apply is a real config change and a reload
    http: [{ name: 'backend', listen, servers: [{ port, weight }, { port, weight: 100 - weight }], directives: ['proxy_http_version 1.1;', 'proxy_set_header Connection "";'] }],
  });
  try {
    await nginx.apply(routes(50));
    const load = startHttpLoad({ url: `http://127.0.0.1:${listen}/reloaded`, rate: 100, connections: 10 });
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 150));
      await nginx.apply(routes(i % 2 ? 10 : 90));
    }
    const s = await load.stop();
    process.stdout.write(`40 nginx reloads under load: ${JSON.stringify({ ...s, events: s.events.slice(0, 10) })}\n`);
    expect(s.requests).toBeGreaterThan(400);
    expect(s.failed).toBe(0);
    expect(s.byStatus).toEqual({ '200': s.requests });
  } finally {
    await nginx.stop();
  }
}, 60_000);
