/**
 * Schema violations as people read them: a field path (options.stepTimeouts.gate,
 * auth.tokens[0].roles) and what is wrong with it. Shared by the configuration
 * loader (TypeBox) and the API (ajv inside Fastify), so both speak alike.
 */
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';

export interface FieldProblem {
  /** Dotted path from the document root; '' is the document itself. */
  field: string;
  message: string;
}

/** JSON pointer (/a/0/b) to a readable path (a[0].b); child is appended if given. */
export function fieldPath(pointer: string, child?: string): string {
  const parts = pointer.split('/').slice(1);
  if (child !== undefined) parts.push(child);
  return parts
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, p) => (/^[0-9]+$/.test(p) ? `${path}[${p}]` : path ? `${path}.${p}` : p), '');
}

type SchemaLike = { anyOf?: { const?: unknown }[]; const?: unknown; description?: string };

/**
 * A better message than the validator's where the schema says more: the
 * allowed values of an enum-like union, or for a pattern its description.
 */
export function explain(schema: unknown, fallback: string, patternFailed: boolean): string {
  const s = (schema ?? {}) as SchemaLike;
  if (s.anyOf?.length && s.anyOf.every((b) => b.const !== undefined)) {
    return `must be one of ${s.anyOf.map((b) => String(b.const)).join(', ')}`;
  }
  // a union of one value (one kind registered, say) is a bare constant
  if (s.const !== undefined) return s.description ? `must be ${s.description}` : `must be ${String(s.const)}`;
  if (patternFailed && s.description) return `must be ${s.description}`;
  return fallback;
}

type Discriminated = { anyOf?: { properties?: { type?: { const?: unknown } } }[] };

/**
 * A union of objects told apart by their `type` (a target's router): the
 * problems of the branch the value names, or the types there are; undefined
 * for any other union.
 */
function discriminatedProblems(schema: unknown, value: unknown, pointer: string): FieldProblem[] | undefined {
  const branches = (schema as Discriminated).anyOf;
  const types = branches?.map((b) => b.properties?.type?.const);
  if (!branches?.length || !types!.every((t) => t !== undefined)) return undefined;
  const branch = branches.find((b) => b.properties!.type!.const === (value as { type?: unknown } | undefined)?.type);
  if (!branch) return [{ field: fieldPath(pointer, 'type'), message: `must be one of ${types!.join(', ')}` }];
  const field = fieldPath(pointer);
  return typeboxProblems(branch as TSchema, value).map((p) => ({ field: !p.field ? field : p.field.startsWith('[') || !field ? `${field}${p.field}` : `${field}.${p.field}`, message: p.message }));
}

/** Every violation of a TypeBox schema, one per field (the first found for each). */
export function typeboxProblems(schema: TSchema, value: unknown): FieldProblem[] {
  const byField = new Map<string, string>();
  for (const e of Value.Errors(schema, value)) {
    const field = fieldPath(e.path);
    if (byField.has(field)) continue;
    const inBranch = e.type === ValueErrorType.Union ? discriminatedProblems(e.schema, e.value, e.path) : undefined;
    if (inBranch) {
      for (const p of inBranch) if (!byField.has(p.field)) byField.set(p.field, p.message);
      continue;
    }
    const message =
      e.type === ValueErrorType.ObjectRequiredProperty
        ? 'is required'
        : e.type === ValueErrorType.ObjectAdditionalProperties
          ? 'is not a known property'
          : explain(e.schema, readable(e.message), e.type === ValueErrorType.StringPattern);
    byField.set(field, message);
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

/** TypeBox says "Expected integer to be greater or equal to 0"; a field "must be greater or equal to 0". */
function readable(message: string): string {
  return message
    .replace(/^Expected \w+ to be /, 'must be ')
    .replace(/^Expected (?:array|string) length (?:to be )?/, 'must have a length ')
    .replace(/^Expected string to match /, 'must match ')
    .replace(/^Expected (integer|object|array)$/, 'must be an $1')
    .replace(/^Expected (\w+)$/, 'must be a $1')
    .replace(/^Expected /, 'must be ');
}

export function formatProblems(problems: FieldProblem[]): string {
  return problems.map((p) => `  - ${p.field || '(document)'}: ${p.message}`).join('\n');
}

/** A configuration that cannot be used: the message says where and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
