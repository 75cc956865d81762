/**
 * A small stand-in of Prometheus's query API (POST /api/v1/query) for
 * workflow tests: each query is answered by the value a test set for it
 * (undefined: an empty vector, i.e. no data), and `down` makes it answer 503.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PrometheusStandIn {
  url: string;
  /** Value by query text; a query not listed has no data. */
  values: Map<string, number>;
  down: boolean;
  /** Queries received, in order. */
  queries: string[];
  close(): Promise<void>;
}

export async function startPrometheusStandIn(): Promise<PrometheusStandIn> {
  const standIn = { values: new Map<string, number>(), down: false, queries: [] as string[] };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const query = new URLSearchParams(body).get('query') ?? '';
      standIn.queries.push(query);
      if (standIn.down) {
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'stand-in down' }));
        return;
      }
      const value = standIn.values.get(query);
      const result = value === undefined ? [] : [{ metric: {}, value: [Date.now() / 1000, String(value)] }];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(standIn, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
