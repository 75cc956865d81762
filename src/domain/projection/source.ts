/**
 * Where a release's catch-up is read: presets for Axon and Marten event
 * stores in PostgreSQL, a service that reports {position, head} over HTTP,
 * or a pair of the user's own SQL queries. Each preset reads the head and a
 * processor's position with one cheap query each: a max() over the event
 * table's primary key (one index entry read, never a scan of the events) and
 * a lookup in the small table of processor positions.
 */
import { Type, type Static } from '@sinclair/typebox';

const Identifier = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$', description: 'an unquoted SQL identifier' });

export const AxonSource = Type.Object(
  {
    preset: Type.Literal('axon'),
    naming: Type.Union([Type.Literal('jdbc'), Type.Literal('jpa')], {
      description: "jdbc: JdbcTokenStore's TokenEntry(processorName, …) and DomainEventEntry(globalIndex); jpa: token_entry(processor_name, …) and domain_event_entry(global_index)",
    }),
    tokenStorage: Type.Optional(
      Type.Union([Type.Literal('bytea'), Type.Literal('largeObject')], {
        description: 'bytea (JDBC, and JPA without @Lob), or an oid large object (JPA with @Lob on PostgreSQL, read with lo_get); default bytea',
      }),
    ),
    schema: Type.Optional(Identifier),
    tokenTable: Type.Optional(Identifier),
    eventTable: Type.Optional(Identifier),
  },
  { additionalProperties: false },
);
export type AxonSource = Static<typeof AxonSource>;

export const MartenSource = Type.Object(
  {
    preset: Type.Literal('marten'),
    schema: Type.Optional(Identifier),
    head: Type.Optional(
      Type.Union([Type.Literal('highWaterMark'), Type.Literal('maxSeqId')], {
        description: "highWaterMark: the async daemon's HighWaterMark row (max(seq_id) while it has none); maxSeqId: the highest mt_events.seq_id",
      }),
    ),
  },
  { additionalProperties: false },
);
export type MartenSource = Static<typeof MartenSource>;

export const HttpSource = Type.Object(
  {
    preset: Type.Literal('http'),
    url: Type.String({ pattern: '^https?://', description: 'answers {"position": n, "head": n}; {release} and {processor} are filled in' }),
  },
  { additionalProperties: false },
);
export type HttpSource = Static<typeof HttpSource>;

export const SqlSource = Type.Object(
  {
    preset: Type.Literal('sql'),
    headQuery: Type.String({ minLength: 1, description: "one row, the head in its first column" }),
    positionQuery: Type.String({ minLength: 1, description: 'the position of processor $1 in the first column; several rows (segments): the smallest counts' }),
  },
  { additionalProperties: false },
);
export type SqlSource = Static<typeof SqlSource>;

export const CatchUpSource = Type.Union([AxonSource, MartenSource, HttpSource, SqlSource], {
  description: "how cutover reads the event store's head and a release's processor position",
});
export type CatchUpSource = Static<typeof CatchUpSource>;

/** Both queries of a SQL-backed source; the position query takes the processor name as $1. */
export interface CatchUpQueries {
  head: string;
  position: string;
  /** Axon tokens come as bytes to be decoded; the other sources give numbers. */
  positions: 'axonTokens' | 'numbers';
}

export function catchUpQueries(source: AxonSource | MartenSource | SqlSource): CatchUpQueries {
  switch (source.preset) {
    case 'axon':
      return axonQueries(source);
    case 'marten':
      return martenQueries(source);
    case 'sql':
      return { head: source.headQuery, position: source.positionQuery, positions: 'numbers' };
  }
}

const qualified = (schema: string | undefined, table: string) => (schema ? `${schema}.${table}` : table);

function axonQueries(s: AxonSource): CatchUpQueries {
  // Axon's own DDL leaves the JDBC names unquoted, so PostgreSQL folds them; these queries do the same.
  const jdbc = s.naming === 'jdbc';
  const tokens = qualified(s.schema, s.tokenTable ?? (jdbc ? 'TokenEntry' : 'token_entry'));
  const events = qualified(s.schema, s.eventTable ?? (jdbc ? 'DomainEventEntry' : 'domain_event_entry'));
  const [processor, tokenType, globalIndex] = jdbc ? ['processorName', 'tokenType', 'globalIndex'] : ['processor_name', 'token_type', 'global_index'];
  const token = s.tokenStorage === 'largeObject' ? 'lo_get(token)' : 'token';
  return {
    // max() over the primary key: an index-only scan backwards, one row read
    head: `SELECT max(${globalIndex}) AS head FROM ${events}`,
    // the primary key (processor, segment): one row per segment
    position: `SELECT segment, ${token} AS token, ${tokenType} AS token_type FROM ${tokens} WHERE ${processor} = $1 ORDER BY segment`,
    positions: 'axonTokens',
  };
}

function martenQueries(s: MartenSource): CatchUpQueries {
  const progression = qualified(s.schema, 'mt_event_progression');
  const maxSeq = `SELECT max(seq_id) FROM ${qualified(s.schema, 'mt_events')}`;
  return {
    head:
      s.head === 'maxSeqId'
        ? `${maxSeq} AS head`
        : `SELECT coalesce((SELECT last_seq_id FROM ${progression} WHERE name = 'HighWaterMark'), (${maxSeq})) AS head`,
    // a projection's shards are named <projection>:<shard>, e.g. Orders:All; the table holds one row per shard, not per event
    position: `SELECT name AS segment, last_seq_id AS position FROM ${progression} WHERE name = $1 OR starts_with(name, $1 || ':') ORDER BY name`,
    positions: 'numbers',
  };
}
