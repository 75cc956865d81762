/** /v1/targets/:target: the releases that exist of a target and who owns them; the clean-up of those nothing uses. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../auth';
import { CleanupStarted, SteerBody, TargetParams, TargetView, withErrors } from '../schemas';
import type { TargetWorkflows } from '../targetWorkflows';

const security = [{ bearer: [] }];
const tags = ['targets'];

export const targetReleaseRoutes: FastifyPluginAsyncTypebox<{ releases: TargetWorkflows }> = async (app, { releases }) => {
  app.get(
    '/v1/targets/:target',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        security,
        summary: "A target's releases as they exist on its platform: owner, traffic, orphans",
        description:
          'Each release the platform runs for the target (its workloads, the configured first one, what serves; a projection\'s databases too), ' +
          'the upgrade that created or adopted it, its share of traffic, and whether it is an orphan: the target\'s, serving nothing, part of no ' +
          'running upgrade (e.g. left by a terminated run). The worker lists them (a short workflow); 503 if it cannot.',
        params: TargetParams,
        response: withErrors({ 200: TargetView }),
      },
    },
    async (request) => releases.view(request.params.target),
  );

  app.post(
    '/v1/targets/:target/cleanup',
    {
      config: { role: 'operator' },
      schema: {
        tags,
        security,
        summary: "Remove the target's orphans, through a workflow that locks the target as an upgrade does (409 while one runs)",
        description:
          'Removes each orphan (workload, its Service, its claims by pvcPolicy, its database) as a rollback removes green: idempotent, retried, ' +
          'never touching what serves or what is not the target\'s. Follow it in GET /v1/targets/:target (cleanup).',
        params: TargetParams,
        body: SteerBody,
        response: withErrors({ 202: CleanupStarted }),
      },
    },
    async (request, reply) => reply.code(202).send(await releases.cleanUp(request.params.target, principalOf(request), request.body.reason)),
  );
};
