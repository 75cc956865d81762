/** /v1/upgrades: start, list, read and steer upgrades. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../auth';
import { ListQuery, StartQuery, StartUpgradeBody, SteerBody, SteerHeaders, SteerResult, UpgradeCreated, UpgradeIdParams, UpgradeList, UpgradePreview, UpgradeView, withErrors } from '../schemas';
import type { SteeringAction, UpgradeWorkflows } from '../upgradeWorkflows';

const security = [{ bearer: [] }];
const tags = ['upgrades'];

const STEERING: Record<SteeringAction, { role: 'operator' | 'approver'; summary: string }> = {
  approve: { role: 'approver', summary: 'Approve an upgrade that awaits approval (409 if nothing waits; 403 if the gate\'s policy does not let this principal approve)' },
  rollback: { role: 'operator', summary: 'Roll an upgrade back: traffic to blue, green retired (409 after finalize)' },
  abort: { role: 'operator', summary: 'Stop an upgrade: before finalize it rolls back, after it the clean-up stops' },
};

export const upgradeRoutes: FastifyPluginAsyncTypebox<{ upgrades: UpgradeWorkflows }> = async (app, { upgrades }) => {
  app.post(
    '/v1/upgrades',
    {
      config: { role: 'operator' },
      schema: {
        tags,
        security,
        summary: 'Start an upgrade of a target (409 if one already runs for that target); with dryRun=true, preview it: refused as a start would be, else what it would do (200), nothing started',
        querystring: StartQuery,
        body: StartUpgradeBody,
        response: withErrors({ 201: UpgradeCreated, 200: UpgradePreview }),
      },
    },
    async (request, reply) => {
      if (request.query.dryRun === 'true') return reply.code(200).send(await upgrades.preview(request.body, principalOf(request)));
      const created = await upgrades.start(request.body, principalOf(request));
      return reply.code(201).header('location', created.links.self).send(created);
    },
  );

  app.get(
    '/v1/upgrades',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        security,
        summary: 'List upgrades from Temporal visibility, newest first, filtered by target, kind and status',
        querystring: ListQuery,
        response: withErrors({ 200: UpgradeList }),
      },
    },
    async (request) => ({ upgrades: await upgrades.list(request.query) }),
  );

  app.get(
    '/v1/upgrades/:id',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        security,
        summary: "An upgrade's state: releases and phases, step, status, history of transitions; with a link to its Temporal run",
        params: UpgradeIdParams,
        response: withErrors({ 200: UpgradeView }),
      },
    },
    async (request) => upgrades.get(request.params.id),
  );

  for (const [action, { role, summary }] of Object.entries(STEERING) as [SteeringAction, (typeof STEERING)[SteeringAction]][]) {
    app.post(
      `/v1/upgrades/:id/${action}`,
      {
        config: { role },
        schema: { tags, security, summary, params: UpgradeIdParams, headers: SteerHeaders, body: SteerBody, response: withErrors({ 200: SteerResult }) },
      },
      async (request) => {
        const by = principalOf(request);
        const key = request.headers['idempotency-key'];
        // the roles go along: an approval gate's policy says which roles may approve there
        const who = { by, roles: request.principal?.roles };
        const status = await upgrades.steer(request.params.id, action, who, request.body.reason, key && `${action}:${by}:${key}`);
        return { id: request.params.id, action, accepted: true as const, status, by };
      },
    );
  }
};
