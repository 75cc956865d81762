/**
 * `npm run admin-router` (the image's other command): the Admin API freeze
 * router as its own process, put in front of Kong's Admin API for the
 * duration of every upgrade, or for good. SIGTERM closes it gracefully.
 */
import { createServer } from 'node:http';
import pino from 'pino';
import { newRegistry } from '../api/metrics';
import { ConfigError } from '../config/schemaErrors';
import { loadRouterEnv } from './env';
import { startAdminRouter } from './router';

async function main(): Promise<void> {
  let env;
  try {
    env = loadRouterEnv();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`cutover admin-router: ${err.message}\n`);
    process.exit(2);
  }
  const log = pino({ level: env.logLevel, base: { service: 'cutover-admin-router' } });
  const registry = newRegistry();
  const app = await startAdminRouter({ ...env, upstreams: () => env.upstreams, log, registry });
  // a listener of its own: Kong's Admin API has a /metrics of its own
  const metrics = env.metrics ? createServer((_req, res) => void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))) : undefined;
  if (metrics) {
    const [host, port] = env.metrics!.split(':');
    await new Promise<void>((r) => metrics.listen(Number(port), host, r));
  }
  log.info({ listen: `${env.host}:${env.port}`, metrics: env.metrics, upstreams: env.upstreams, database: env.databaseUrl.replace(/:[^:@/]+@/, ':***@') }, 'Admin API router started');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping');
      metrics?.close();
      void app.close().then(() => process.exit(0));
    });
  }
}

main().catch((err) => {
  process.stderr.write(`cutover admin-router: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
