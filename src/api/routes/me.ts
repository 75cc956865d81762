/** /v1/me: who the token is, so a client (the console) offers only what the principal's roles allow. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { withErrors } from '../schemas';

const Me = Type.Object({
  principal: Type.String(),
  roles: Type.Array(Type.String(), { description: 'viewer reads; operator starts, rolls back and aborts; approver approves' }),
});

export async function meRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/v1/me',
    {
      config: { role: 'viewer' },
      schema: { tags: ['auth'], security: [{ bearer: [] }], summary: "The token's principal and roles", response: withErrors({ 200: Me }) },
    },
    async (request) => ({ principal: request.principal!.principal, roles: request.principal!.roles }),
  );
}
