/**
 * The rows the Axon and Marten presets read, as TypeBox schemas of what the
 * real systems store (node-postgres gives bigint as a string, bytea as a
 * Buffer, an oid as a number). A row of another shape fails naming the
 * system, its version, the field and what was found: never a TypeError
 * further on.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CatchUpSourceUnsupported } from './source';

export const MARTEN = 'Marten 7/8';

const BigInt = Type.String({ pattern: '^-?[0-9]+$', description: 'a bigint' });

/** max() over the event table's global index or seq_id; null while the store is empty. */
export const HeadRow = Type.Object({ head: Type.Union([BigInt, Type.Null()], { description: 'a bigint, or null on an empty store' }) });

/**
 * A row of Axon's token table (TokenEntry / token_entry; JdbcTokenStore and JpaTokenStore, axon-4.13.0): the
 * token is bytea, or with tokenStorage largeObject the bytes of its oid (lo_get); null before the segment
 * handled an event.
 */
export const AxonTokenRow = Type.Object({
  segment: Type.Integer(),
  token: Type.Union([Type.Uint8Array(), Type.Null()], { description: 'the serialized token as bytes, or null' }),
  token_type: Type.Union([Type.String(), Type.Null()], { description: 'a class name or null' }),
});
export type AxonTokenRow = Static<typeof AxonTokenRow>;

/** A row of Marten's mt_event_progression (EventProgressionTable.cs, v7.33.2 and v8.17.0): last_seq_id is a nullable bigint. */
export const MartenProgressRow = Type.Object({
  segment: Type.String({ description: 'the shard name' }),
  position: Type.Union([BigInt, Type.Null()], { description: 'a bigint or null' }),
});
export type MartenProgressRow = Static<typeof MartenProgressRow>;

/** A row (or a stored token) that is not of the shape the supported system writes. */
export class RowShapeError extends CatchUpSourceUnsupported {
  override name = 'RowShapeError';
}

/** The row as its schema says, or a RowShapeError naming system, field and what was found. */
export function checkRow<S extends TSchema>(schema: S, row: unknown, what: string): Static<S> {
  const error = Value.Errors(schema, row).First();
  if (!error) return row as Static<S>;
  const field = error.path.split('/').filter(Boolean).join('.');
  const value = error.value instanceof Uint8Array ? `${error.value.length} bytes` : (JSON.stringify(error.value) ?? String(error.value));
  const hint = field === 'token' && typeof error.value === 'number' ? ': the token column holds an oid (a large object), so set catchUp.tokenStorage: largeObject' : '';
  throw new RowShapeError(`${what}: field ${field || '(row)'}: expected ${(error.schema as { description?: string }).description ?? error.message.replace(/^Expected /, '')}, found ${value}${hint}`);
}
