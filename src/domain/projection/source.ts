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
        description:
          "bytea (JdbcTokenStore; JPA where the dialect maps @Lob to bytea), or largeObject: an oid read with lo_get (JpaTokenStore's @Lob on PostgreSQL with Hibernate 6, Spring Boot 3's default); left out: what the token column's type says",
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

/** An Axon source whose token storage is known (configured, or read from the token column's type). */
export type ResolvedAxonSource = AxonSource & { tokenStorage: TokenStorage };
export type TokenStorage = 'bytea' | 'largeObject';

export function catchUpQueries(source: ResolvedAxonSource | MartenSource | SqlSource): CatchUpQueries {
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

const axonTokenTable = (s: AxonSource) => s.tokenTable ?? (s.naming === 'jdbc' ? 'TokenEntry' : 'token_entry');

/**
 * The token column's type, to know its storage: one row (data_type bytea or oid), or none when the table or
 * column does not exist. $1 is the schema (null: the connection's current schema).
 */
export function axonTokenColumnQuery(s: AxonSource): { sql: string; params: [string | null, string] } {
  return {
    sql: "SELECT data_type FROM information_schema.columns WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2 AND column_name = 'token'",
    // unquoted, as Axon's DDL and these queries write it: PostgreSQL folds it to lower case
    params: [s.schema?.toLowerCase() ?? null, axonTokenTable(s).toLowerCase()],
  };
}

/**
 * A store outside what the preset reads, or a setting the store contradicts: no retry helps until the
 * configuration changes, so the step fails at once, naming the setting.
 */
export class CatchUpSourceUnsupported extends Error {
  override name = 'CatchUpSourceUnsupported';
}

/** The token storage to read with: the column's own (bytea or oid), which a configured tokenStorage must match. */
export function axonTokenStorage(s: AxonSource, columnType: string | undefined): TokenStorage {
  const table = qualified(s.schema, axonTokenTable(s));
  if (columnType === undefined) {
    throw new CatchUpSourceUnsupported(
      `Axon Framework 4: the token table ${table} has no column token (or does not exist): check catchUp.naming (jdbc: TokenEntry, jpa: token_entry), catchUp.tokenTable and catchUp.schema`,
    );
  }
  const column: TokenStorage | undefined = columnType === 'bytea' ? 'bytea' : columnType === 'oid' ? 'largeObject' : undefined;
  if (!column) throw new CatchUpSourceUnsupported(`Axon Framework 4: ${table}.token is of type ${columnType}: the axon preset reads a bytea or an oid (large object) token column`);
  if (s.tokenStorage && s.tokenStorage !== column) {
    const what = column === 'largeObject' ? 'oid (a large object: JpaTokenStore\'s @Lob on PostgreSQL, the default with Spring Boot 3)' : 'bytea';
    throw new CatchUpSourceUnsupported(`Axon Framework 4: ${table}.token is ${what}, but catchUp.tokenStorage is ${s.tokenStorage}: set catchUp.tokenStorage to ${column}, or leave it out to follow the column`);
  }
  return column;
}

function axonQueries(s: ResolvedAxonSource): CatchUpQueries {
  // Axon's own DDL leaves the JDBC names unquoted, so PostgreSQL folds them; these queries do the same.
  const jdbc = s.naming === 'jdbc';
  const tokens = qualified(s.schema, axonTokenTable(s));
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
  const events = qualified(s.schema, 'mt_events');
  return {
    head:
      s.head === 'maxSeqId'
        ? `SELECT max(seq_id) AS head FROM ${events}`
        : `SELECT coalesce((SELECT last_seq_id FROM ${progression} WHERE name = 'HighWaterMark'), (SELECT max(seq_id) FROM ${events})) AS head`,
    // A shard is named <projection>:<key>, and <projection>:V<version>:<key> from version 2 of a projection
    // (ShardName.cs, v7.33.2; blue_green_projection_deployments.cs, v8.17.0): the processor Orders has the
    // shards Orders:<key> but not those of Orders:V2, which runs beside it. One row per shard, not per event.
    position:
      `SELECT name AS segment, last_seq_id AS position FROM ${progression} ` +
      `WHERE starts_with(name, $1 || ':') AND substr(name, length($1) + 2) !~ '^V[0-9]+:' ORDER BY name`,
    positions: 'numbers',
  };
}
