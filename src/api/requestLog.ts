/**
 * One log line per answered request, at a level that keeps an idle terminal
 * quiet: failures (5xx) at error; a person's refusals (4xx) and writes (start,
 * steering, clean-up) at info; reads and a service's routine answers (its
 * release's phase polls, a 404 while no upgrade names the release) at debug.
 * Replaces Fastify's two info lines per request; a failure's line carries its error.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export function requestLevel(method: string, status: number, service: boolean): 'error' | 'info' | 'debug' {
  if (status >= 500) return 'error';
  if (status === 404 && service) return 'debug';
  if (status >= 400) return 'info';
  return method === 'GET' || method === 'HEAD' || service ? 'debug' : 'info';
}

const failures = new WeakMap<FastifyRequest, unknown>();

/** The error behind a 5xx answer, for the request's log line. */
export function recordFailure(request: FastifyRequest, err: unknown): void {
  failures.set(request, err);
}

export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const level = requestLevel(request.method, reply.statusCode, !!request.routeOptions.config?.service);
    request.log[level](
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), principal: request.principal?.principal, err: failures.get(request) },
      `${request.method} ${request.url.split('?')[0]} ${reply.statusCode}`,
    );
  });
}
