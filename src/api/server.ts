/**
 * The HTTP API as a Fastify instance, not yet listening: the runtime listens,
 * tests inject. OpenAPI at /docs/json, its UI at /docs.
 */
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import type { Registry } from 'prom-client';
import type { Config } from '../config/file';
import { installAuth } from './auth';
import { ConcurrencyLimit, limitAuthFailures, limitPrincipals } from './limits';
import { BODY_LIMIT_BYTES, installErrorHandling } from './errors';
import { installMetrics, newRegistry } from './metrics';
import { consoleRoutes } from './routes/console';
import { healthRoutes } from './routes/health';
import { meRoutes } from './routes/me';
import { PhaseWatch } from './phaseWatch';
import { installRequestLog } from './requestLog';
import { StuckWatch } from './stuckWatch';
import { targetReleaseRoutes } from './routes/targetReleases';
import { targetRoutes } from './routes/targets';
import { TargetWorkflows } from './targetWorkflows';
import { upgradeRoutes } from './routes/upgrades';
import { UpgradeWorkflows } from './upgradeWorkflows';

/** Open connections the API keeps at once; past it the server closes new ones at once. */
const MAX_CONNECTIONS = 2000;

export interface ServerOptions {
  /** Connected to the namespace upgrades run in. */
  client: Client;
  config: Config;
  /** A pino logger; omitted: no request logging. */
  logger?: FastifyBaseLogger;
  /** Where /metrics reads from; omitted: a registry of its own with process metrics. */
  registry?: Registry;
  /** How often running upgrades are checked for a workflow task that keeps failing; default 30 s. */
  stuckCheckMs?: number;
}

export async function buildServer({ client, config, logger, registry = newRegistry(), stuckCheckMs }: ServerOptions): Promise<FastifyInstance> {
  const app = fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    // one line per request at its own level instead (requestLog.ts)
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // a request that is not answered in this time is closed (a phase long poll waits 60 s at most)
    requestTimeout: 90_000,
    ajv: {
      customOptions: {
        // Refuse what the schema does not allow instead of quietly dropping or converting it.
        removeAdditional: false,
        coerceTypes: false,
        // parentSchema in each error: the field's description completes the message.
        verbose: true,
      },
    },
  });
  installErrorHandling(app);
  installMetrics(app, registry);
  installRequestLog(app);
  const { limits } = config.env.api;
  limitAuthFailures(app, limits.authFailuresPerMinute);
  installAuth(app, config.auth.principals);
  await limitPrincipals(app, limits);
  // connections and request time: a request is short, a long poll at most 60 s
  app.server.maxConnections = MAX_CONNECTIONS;

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'cutover',
        version: '1',
        description: 'Blue-green upgrades of stateful systems as durable Temporal workflows. Tokens: Authorization: Bearer <token>.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const upgrades = new UpgradeWorkflows(client, config);
  await app.register(upgradeRoutes, { upgrades });
  const watch = new PhaseWatch((target) => upgrades.targetState(target), { registry });
  // before the server waits for its requests to end: the long polls are answered at once
  app.addHook('preClose', () => watch.close());
  const longPolls = new ConcurrencyLimit(limits.longPolls, 'long polls waiting');
  await app.register(targetRoutes, { targets: config.targets, upgrades, watch, longPolls });
  await app.register(targetReleaseRoutes, { releases: new TargetWorkflows(client, config, (target, runId) => upgrades.links(target, runId)) });
  await app.register(healthRoutes, { upgrades, registry });
  await app.register(meRoutes);
  await app.register(consoleRoutes);
  const stuck = new StuckWatch(() => upgrades.stuckUpgrades(), { registry, log: app.log, everyMs: stuckCheckMs });
  app.addHook('onReady', async () => stuck.start());
  app.addHook('onClose', () => stuck.stop());
  await app.ready();
  return app;
}
