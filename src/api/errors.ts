/**
 * Every error the API returns has one shape, { error: { status, code,
 * message, field? } }, and no stack trace: validation errors name the field,
 * Temporal being down is a 503, anything unexpected is logged and is a 500.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ServiceError } from '@temporalio/client';
import { explain, fieldPath } from '../config/schemaErrors';
import type { ErrorBody } from './schemas';
import { recordFailure } from './requestLog';

const CODES: Record<number, string> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** Requests are small JSON documents; anything bigger is refused before parsing. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  body(): ErrorBody {
    const { status, message, field } = this;
    return { error: { status, code: CODES[status] ?? 'ERROR', message, ...(field !== undefined ? { field } : {}) } };
  }
}

export const badRequest = (field: string, message: string) => new ApiError(400, `${field} ${message}`, field);
/** A request outside the policy: the message names the field first, as a 400's does. */
export const forbidden = (field: string, message: string) => new ApiError(403, message, field);
export const notFound = (message: string) => new ApiError(404, message);
export const conflict = (message: string) => new ApiError(409, message);

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: unknown;
}

/**
 * ajv's first complaint as "<field> <problem>"; an enum-like union reports
 * once, with its values; a union whose value matched a branch's type but not
 * its content (a list for traffic, too long somewhere inside) reports what
 * inside that branch is wrong.
 */
function fromValidation(errors: AjvError[], part: string): ApiError {
  const union = errors.find((e) => e.keyword === 'anyOf' && e.instancePath === errors[0].instancePath);
  const inside = union && errors.filter((e) => e.instancePath.startsWith(`${union.instancePath}/`)).sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
  const first = inside ?? union ?? errors[0];
  const { keyword, instancePath, params } = first;
  if (keyword === 'required') return badRequest(fieldPath(instancePath, String(params.missingProperty)), 'is required');
  if (keyword === 'additionalProperties') {
    return badRequest(fieldPath(instancePath, String(params.additionalProperty)), 'is not a known property');
  }
  const field = fieldPath(instancePath) || part;
  return badRequest(field, explain(first.parentSchema, first.message ?? 'is invalid', keyword === 'pattern'));
}

function toApiError(err: FastifyError): ApiError {
  if (err instanceof ApiError) return err;
  if (err.validation) return fromValidation(err.validation as AjvError[], err.validationContext ?? 'request');
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ApiError(413, `the request body is larger than the limit of ${BODY_LIMIT_BYTES / 1024} KiB`);
  if (err instanceof ServiceError) return new ApiError(503, `Temporal is unavailable: ${err.message}`);
  // Fastify's own client errors (malformed JSON, wrong content type, ...) have safe messages.
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return new ApiError(status, err.message);
  return new ApiError(500, 'internal error: the details are in the server log');
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500) recordFailure(request, err);
    if (apiError.status === 401) void reply.header('www-authenticate', 'Bearer realm="cutover"');
    return reply.code(apiError.status).send(apiError.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const e = notFound(`no such route: ${request.method} ${request.url.split('?')[0]}`);
    return reply.code(404).send(e.body());
  });
}
