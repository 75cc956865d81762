/** /v1/targets: what can be upgraded, and the phase of a release (so a service can learn its own mode). */
import type { FastifyInstance } from 'fastify';
import type { TargetConfig } from '../../config/targets';
import { PhaseParams, ReleasePhase, TargetList, withErrors } from '../schemas';
import type { Upgrades } from '../upgrades';

const security = [{ bearer: [] }];
const tags = ['targets'];

export function targetRoutes(app: FastifyInstance, targets: TargetConfig[], upgrades: Upgrades): void {
  // Names and kinds only: placement and secret references stay on the server.
  const listed = { targets: targets.map(({ name, kind, description }) => ({ name, kind, description })) };
  app.get(
    '/v1/targets',
    {
      config: { role: 'viewer' },
      schema: { tags, security, summary: 'The configured targets (names and kinds)', response: withErrors({ 200: TargetList }) },
    },
    async () => listed,
  );

  app.get<{ Params: PhaseParams }>(
    '/v1/targets/:target/releases/:release/phase',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        security,
        summary: "A release's phase in its target's latest upgrade (SERVING, STANDING_BY, INITIALISING, ...)",
        params: PhaseParams,
        response: withErrors({ 200: ReleasePhase }),
      },
    },
    async (request) => upgrades.releasePhase(request.params.target, request.params.release),
  );
}
