/**
 * The upper bound of every duration, found by walking a schema beside a
 * value: whatever option a kind or a check adds, a duration is a string of
 * the shared Duration schema, so none escapes the bound.
 */
import type { TSchema } from '@sinclair/typebox';
import { DURATION_PATTERN, parseDuration } from '../domain/duration';
import type { FieldProblem } from './schemaErrors';

interface SchemaNode {
  type?: string;
  pattern?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
}

/** Every duration in a value that its schema validates, with its field (path from `prefix`) and milliseconds. */
export function durationsIn(schema: TSchema, value: unknown, prefix = ''): { field: string; text: string; ms: number }[] {
  const found: { field: string; text: string; ms: number }[] = [];
  const walk = (s: SchemaNode, v: unknown, field: string): void => {
    if (s.pattern === DURATION_PATTERN && typeof v === 'string') {
      found.push({ field, text: v, ms: parseDuration(v) });
    } else if (s.anyOf) {
      for (const branch of s.anyOf) walk(branch, v, field);
    } else if (s.type === 'array' && s.items && Array.isArray(v)) {
      v.forEach((item, i) => walk(s.items!, item, `${field}[${i}]`));
    } else if (s.type === 'object' && s.properties && v !== null && typeof v === 'object') {
      for (const [key, child] of Object.entries(s.properties)) {
        const item = (v as Record<string, unknown>)[key];
        if (item !== undefined) walk(child, item, field ? `${field}.${key}` : key);
      }
    }
  };
  walk(schema as SchemaNode, value, prefix);
  return found;
}

/** The durations longer than `max` (a duration as written, e.g. 30d), each a problem on its field. */
export function durationProblems(schema: TSchema, value: unknown, max: string, prefix = ''): FieldProblem[] {
  const maxMs = parseDuration(max);
  return durationsIn(schema, value, prefix)
    .filter((d) => d.ms > maxMs)
    .map((d) => ({ field: d.field, message: `must be at most ${max} (it is ${d.text})` }));
}
