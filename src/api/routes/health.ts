/** Public probes and metrics: liveness, readiness (Temporal reachable), Prometheus. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import { Health, withErrors } from '../schemas';
import type { UpgradeWorkflows } from '../upgradeWorkflows';

const tags = ['operations'];

export const healthRoutes: FastifyPluginAsyncTypebox<{ upgrades: UpgradeWorkflows; registry: Registry }> = async (app, { upgrades, registry }) => {
  app.get('/healthz', { schema: { tags, summary: 'The API process is alive', response: withErrors({ 200: Health }) } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { schema: { tags, summary: 'Temporal is reachable (503 if not)', response: withErrors({ 200: Health }) } },
    async () => {
      await upgrades.ready();
      return { status: 'ready' };
    },
  );

  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
};
