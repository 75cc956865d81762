/**
 * A local HTTP receiver for notification tests: it records every request
 * (headers and raw body) and answers as the test says: a status, or 'hold'
 * (no answer until release(), or never: the sender's time limit ends it).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** How many requests with this X-Cutover-Delivery came before it (0: the first attempt). */
  attempt: number;
  /** The status answered; undefined while held or when the sender gave up first. */
  answered?: number;
  /** The sender closed the connection before an answer. */
  abandoned?: boolean;
}

export type Answer = number | 'hold';

export interface WebhookReceiver {
  url: string;
  received: ReceivedRequest[];
  /** How to answer a request; default 200. */
  answer: (r: ReceivedRequest) => Answer;
  /** Answer every held request with this status. */
  release(status?: number): void;
  /** The requests answered 2xx, their bodies parsed. */
  delivered(): { path: string; headers: IncomingHttpHeaders; body: string; json: Record<string, unknown> }[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const held: [ReceivedRequest, ServerResponse][] = [];
  const receiver = {
    received: [] as ReceivedRequest[],
    answer: (() => 200) as (r: ReceivedRequest) => Answer,
    release(status = 200) {
      for (const [r, res] of held.splice(0)) {
        if (r.abandoned) continue;
        r.answered = status;
        res.writeHead(status).end();
      }
    },
    delivered() {
      return receiver.received.filter((r) => r.answered !== undefined && r.answered < 300).map((r) => ({ path: r.path, headers: r.headers, body: r.body, json: JSON.parse(r.body) as Record<string, unknown> }));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const delivery = req.headers['x-cutover-delivery'];
      const r: ReceivedRequest = {
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        attempt: receiver.received.filter((o) => o.headers['x-cutover-delivery'] === delivery).length,
      };
      receiver.received.push(r);
      const answer = receiver.answer(r);
      if (answer === 'hold') {
        held.push([r, res]);
        res.on('close', () => {
          if (r.answered === undefined) r.abandoned = true;
        });
        return;
      }
      r.answered = answer;
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'receiver failing on purpose');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      receiver.release(503);
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  });
}
