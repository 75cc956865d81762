/**
 * The HTTP API as a Fastify instance, not yet listening: the runtime listens,
 * tests inject. OpenAPI at /docs/json, its UI at /docs.
 */
import fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import type { Registry } from 'prom-client';
import type { Config } from '../config/file';
import { installAuth } from './auth';
import { BODY_LIMIT_BYTES, installErrorHandling } from './errors';
import { installMetrics, newRegistry } from './metrics';
import { healthRoutes } from './routes/health';
import { PhaseWatch } from './phaseWatch';
import { targetReleaseRoutes } from './routes/targetReleases';
import { targetRoutes } from './routes/targets';
import { TargetReleases } from './targetReleases';
import { upgradeRoutes } from './routes/upgrades';
import { Upgrades } from './upgrades';

export interface ServerOptions {
  /** Connected to the namespace upgrades run in. */
  client: Client;
  config: Config;
  /** A pino logger; omitted: no request logging. */
  logger?: FastifyBaseLogger;
  /** Where /metrics reads from; omitted: a registry of its own with process metrics. */
  registry?: Registry;
}

export async function buildServer({ client, config, logger, registry = newRegistry() }: ServerOptions): Promise<FastifyInstance> {
  const app = fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: BODY_LIMIT_BYTES,
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
  installAuth(app, config.auth.principals);

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

  const upgrades = new Upgrades(client, config);
  upgradeRoutes(app, upgrades);
  const phaseWatch = new PhaseWatch((target) => upgrades.targetState(target), { registry });
  app.addHook('onClose', () => phaseWatch.close());
  targetRoutes(app, config.targets, upgrades, phaseWatch);
  targetReleaseRoutes(app, new TargetReleases(client, config, (target, runId) => upgrades.links(target, runId)));
  healthRoutes(app, upgrades, registry);
  await app.ready();
  return app;
}
