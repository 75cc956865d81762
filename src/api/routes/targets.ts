/** /v1/targets: what can be upgraded, and the phase of a release (so a service can learn its own mode, at once with a long poll). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TargetConfig } from '../../config/targets';
import { parseDuration } from '../../domain/duration';
import type { UpgradeState } from '../../domain/upgrade';
import { principalOf } from '../auth';
import { badRequest } from '../errors';
import type { ConcurrencyLimit } from '../limits';
import type { PhaseWatch } from '../phaseWatch';
import { PHASE_WAIT_MAX_MS, PhaseParams, PhaseQuery, ReadyBody, ReadyResult, ReleasePhase, TargetList, withErrors } from '../schemas';
import { namedRelease, releasePhaseOf, type UpgradeWorkflows } from '../upgradeWorkflows';

const security = [{ bearer: [] }];
const tags = ['targets'];

/** What a service acts on: which upgrade, its release's phase and its share of the traffic. */
const modeOf = (a: { upgradeId: string; phase: string; weight: number }) => `${a.upgradeId}/${a.phase}/${a.weight}`;

export interface TargetRoutesOptions {
  targets: TargetConfig[];
  upgrades: UpgradeWorkflows;
  /** One poller per target, shared by every long poll on it. */
  watch: PhaseWatch<UpgradeState | null>;
  longPolls: ConcurrencyLimit;
}

export const targetRoutes: FastifyPluginAsyncTypebox<TargetRoutesOptions> = async (app, { targets, upgrades, watch, longPolls }) => {
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

  app.get(
    '/v1/targets/:target/releases/:release/phase',
    {
      config: { role: 'viewer', service: true },
      schema: {
        tags,
        security,
        summary: "A release's phase and traffic weight in its target's latest upgrade (SERVING, STANDING_BY, INITIALISING, ...)",
        description:
          'With waitForChange (e.g. 30s, at most 60s) the answer waits until the phase or weight differs from `phase` and `weight` ' +
          '(default: those when the request arrives) or a new upgrade of the target began, and comes at the latest when the duration is up. ' +
          'While no upgrade names the release (404 without waitForChange) it waits as well, until one does, and answers 404 if none did in time.',
        params: PhaseParams,
        querystring: PhaseQuery,
        response: withErrors({ 200: ReleasePhase }),
      },
    },
    async (request, reply) => {
      const { target, release } = request.params;
      const { waitForChange, phase, weight } = request.query;
      const waitMs = waitForChange === undefined ? 0 : parseDuration(waitForChange);
      if (waitMs > PHASE_WAIT_MAX_MS) throw badRequest('waitForChange', 'must be at most 60s');
      const state = await upgrades.targetState(target);
      // no upgrade names the release yet: 404 at once, or with waitForChange once one does or the wait is up
      const now = namedRelease(state, target, release);
      if (waitMs === 0) return releasePhaseOf(state, target, release);
      const known = now ? modeOf({ upgradeId: now.upgradeId, phase: phase ?? now.phase, weight: weight === undefined ? now.weight : Number(weight) }) : undefined;
      if (now && modeOf(now) !== known) return now;
      longPolls.enter(request, reply);
      // a client that goes away stops waiting; the shared poller stops with its last waiter
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      const changed = (s: UpgradeState | null) => {
        const next = namedRelease(s, target, release);
        // named at last, renamed, or no longer named (the release left the target's latest upgrade: answer with 404)
        return (next && modeOf(next)) !== known;
      };
      return releasePhaseOf(await watch.wait(target, changed, waitMs, gone.signal), target, release);
    },
  );

  app.post(
    '/v1/targets/:target/releases/:release/ready',
    {
      config: { role: 'operator', service: true },
      schema: {
        tags,
        security,
        summary: 'The green release of the running upgrade reports whether it is ready (409 for any other release, or once it is past INITIALISING; a repeat of the latest report records nothing; 429 past the reports a release may send)',
        params: PhaseParams,
        body: ReadyBody,
        response: withErrors({ 200: ReadyResult }),
      },
    },
    async (request) =>
      upgrades.reportReady(request.params.target, { release: request.params.release, ...request.body, by: principalOf(request) }),
  );
};
