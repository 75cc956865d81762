/**
 * The Kong Admin API freeze router as its own process (`node --import tsx
 * src/bin/kongAdminRouter.ts`, locally `npm run admin-router`), put in front
 * of Kong's Admin API for the duration of every upgrade, or for good. SIGTERM
 * closes it gracefully.
 */
import pino from 'pino';
import { newRegistry } from '../api/metrics';
import { ConfigError } from '../config/schemaErrors';
import { serveMetrics } from '../runtime/metricsListener';
import { loadRouterEnv } from '../kongAdminRouter/env';
import { startAdminRouter } from '../kongAdminRouter/router';

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
  const metrics = env.metrics ? await serveMetrics(env.metrics, registry) : undefined;
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
