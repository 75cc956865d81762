/**
 * What one caller may cost the API: failed authentications per address
 * (guessing tokens), and per principal requests per minute
 * (@fastify/rate-limit), requests in progress at once and phase long polls
 * waiting at once. Over a limit the answer is 429 with Retry-After.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiLimits } from '../config/env';
import { ApiError } from './errors';

const MINUTE_MS = 60_000;
/** A client that waits this long finds a slot freed (requests and long polls end within a minute). */
const CONCURRENCY_RETRY_S = 1;

const tooMany = (reply: FastifyReply, retryAfterS: number, message: string): ApiError => {
  void reply.header('retry-after', String(retryAfterS));
  return new ApiError(429, message);
};

/**
 * 401s per address in fixed one-minute windows: past the limit every request
 * from the address is refused until the window ends, right or wrong token.
 * Registered before authentication, so a refused address costs no lookup.
 */
export function limitAuthFailures(app: FastifyInstance, perMinute: number): void {
  const windows = new Map<string, { failures: number; endsAt: number }>();
  const current = (ip: string, now: number) => {
    const w = windows.get(ip);
    return w && w.endsAt > now ? w : undefined;
  };
  app.addHook('onRequest', async (request, reply) => {
    const w = current(request.ip, Date.now());
    if (w && w.failures >= perMinute) {
      throw tooMany(reply, Math.ceil((w.endsAt - Date.now()) / 1000), `too many failed authentications from ${request.ip}: at most ${perMinute} a minute`);
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 401) return;
    const now = Date.now();
    if (windows.size > 10_000) for (const [ip, w] of windows) if (w.endsAt <= now) windows.delete(ip);
    const w = current(request.ip, now) ?? { failures: 0, endsAt: now + MINUTE_MS };
    w.failures++;
    windows.set(request.ip, w);
  });
}

/** Requests per minute and requests in progress per principal; registered after authentication (which names the principal) and before the routes. */
export async function limitPrincipals(app: FastifyInstance, limits: ApiLimits): Promise<void> {
  await app.register(rateLimit, {
    max: limits.requestsPerMinute,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => `principal:${request.principal?.principal}`,
    // public routes (health, metrics, docs) have no principal
    allowList: (request) => !request.principal,
    errorResponseBuilder: (request, ctx) =>
      new ApiError(429, `${request.principal?.principal} made more than ${ctx.max} requests in a minute: retry after ${ctx.after}`),
  });
  const inProgress = new ConcurrencyLimit(limits.concurrentRequests, 'requests in progress');
  app.addHook('onRequest', async (request, reply) => {
    // a long poll waits by design: it counts against its own limit
    if (!request.principal || (request.query as { waitForChange?: string } | undefined)?.waitForChange) return;
    inProgress.enter(request, reply);
  });
}

/** At most `max` at once per principal; the slot frees when the response closes (sent or aborted). */
export class ConcurrencyLimit {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {}

  enter(request: FastifyRequest, reply: FastifyReply): void {
    const who = request.principal?.principal ?? request.ip;
    const n = this.counts.get(who) ?? 0;
    if (n >= this.max) throw tooMany(reply, CONCURRENCY_RETRY_S, `${who} has ${n} ${this.what} already, the most it may have at once`);
    this.counts.set(who, n + 1);
    reply.raw.once('close', () => {
      const left = (this.counts.get(who) ?? 1) - 1;
      if (left > 0) this.counts.set(who, left);
      else this.counts.delete(who);
    });
  }
}
