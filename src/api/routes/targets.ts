/** /v1/targets: what can be upgraded, and the phase of a release (so a service can learn its own mode). */
import type { FastifyInstance } from 'fastify';
import type { TargetConfig } from '../../config/targets';
import { principalOf } from '../auth';
import { PhaseParams, ReadyBody, ReadyResult, ReleasePhase, TargetList, withErrors } from '../schemas';
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
      config: { role: 'viewer', service: true },
      schema: {
        tags,
        security,
        summary: "A release's phase and traffic weight in its target's latest upgrade (SERVING, STANDING_BY, INITIALISING, ...)",
        params: PhaseParams,
        response: withErrors({ 200: ReleasePhase }),
      },
    },
    async (request) => upgrades.releasePhase(request.params.target, request.params.release),
  );

  app.post<{ Params: PhaseParams; Body: ReadyBody }>(
    '/v1/targets/:target/releases/:release/ready',
    {
      config: { role: 'operator', service: true },
      schema: {
        tags,
        security,
        summary: 'The green release of the running upgrade reports whether it is ready (409 for any other release, or once it is past INITIALISING)',
        params: PhaseParams,
        body: ReadyBody,
        response: withErrors({ 200: ReadyResult }),
      },
    },
    async (request) =>
      upgrades.reportReady(request.params.target, { release: request.params.release, ...request.body, by: principalOf(request) }),
  );
}
