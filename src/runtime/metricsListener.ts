/** A Prometheus listener of a process's own (host:port), apart from any API it serves. */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** Serves the registry's metrics on every path, followed by those `more` reads (e.g. the Temporal SDK's, from its own listener). */
export async function serveMetrics(address: string, registry: Registry, more?: () => Promise<string>): Promise<Server> {
  const server = createServer((_req, res) => {
    void Promise.all([registry.metrics(), more?.() ?? '']).then(
      ([own, other]) => res.writeHead(200, { 'content-type': registry.contentType }).end(own + other),
      (err: unknown) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${String(err)}\n`),
    );
  });
  const at = address.lastIndexOf(':');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(at + 1)), address.slice(0, at), resolve);
  });
  return server;
}
