/**
 * Bearer tokens from the configuration, each naming a principal with roles.
 * A route says which role it needs (config.role); routes without one are
 * public (health, metrics, docs). Reading needs any role.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal, Role } from '../config/file';
import { ApiError } from './errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    role?: Role;
    /** A service token of the route's :target may call it too (and nothing else). */
    service?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const DOING: Record<Role, string> = {
  viewer: 'reading upgrades',
  operator: 'starting, rolling back or aborting an upgrade',
  approver: 'approving an upgrade',
  service: "reading a release's phase or reporting it ready",
};

// Lookup by digest: the comparison never runs over the secret itself.
const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export function installAuth(app: FastifyInstance, principals: Principal[]): void {
  const byDigest = new Map(principals.map((p) => [digest(p.token), p]));
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const need = request.routeOptions.config.role;
    if (!need) return;
    const principal = authenticate(request, byDigest);
    if (principal.target !== undefined) {
      const target = (request.params as { target?: string } | undefined)?.target;
      if (!request.routeOptions.config.service || target !== principal.target) {
        throw new ApiError(
          403,
          `${principal.principal} is a service token of target ${principal.target}: it may only read its releases' phase and report them ready`,
        );
      }
    } else if (need !== 'viewer' && !principal.roles.includes(need)) {
      throw new ApiError(
        403,
        `${DOING[need]} needs the ${need} role; ${principal.principal} has ${principal.roles.join(', ')}`,
      );
    }
    request.principal = principal;
  });
}

function authenticate(request: FastifyRequest, byDigest: Map<string, Principal>): Principal {
  const header = request.headers.authorization;
  if (!header) throw new ApiError(401, 'no bearer token: send the header Authorization: Bearer <token>');
  const m = /^Bearer ([^\s]+)$/i.exec(header.trim());
  if (!m) throw new ApiError(401, 'the Authorization header must be: Bearer <token>');
  const principal = byDigest.get(digest(m[1]));
  if (!principal) throw new ApiError(401, 'unknown bearer token');
  return principal;
}

/** The principal of an authenticated route (the hook has run). */
export function principalOf(request: FastifyRequest): string {
  if (!request.principal) throw new Error('principalOf on a public route');
  return request.principal.principal;
}
