/**
 * An Axon-shaped event store in PostgreSQL, as AxonFramework 4 creates it:
 * the event table with its global index as primary key and the token table
 * keyed by (processor, segment), in the JDBC (TokenEntry, camelCase columns,
 * folded by PostgreSQL) or JPA (token_entry, snake_case) naming, with tokens
 * as bytea or as large objects. The sandbox's producer and projection
 * service write it; the catch-up tests seed it.
 */
import type { ClientBase } from 'pg';

export type AxonNaming = 'jdbc' | 'jpa';
export type TokenStorage = 'bytea' | 'largeObject';

export interface AxonLayout {
  naming: AxonNaming;
  tokenStorage: TokenStorage;
}

const names = (naming: AxonNaming) =>
  naming === 'jdbc'
    ? { events: 'DomainEventEntry', globalIndex: 'globalIndex', aggregateId: 'aggregateIdentifier', seq: 'sequenceNumber', type: 'type', eventId: 'eventIdentifier', payloadType: 'payloadType', payload: 'payload', timeStamp: 'timeStamp', tokens: 'TokenEntry', processor: 'processorName', tokenType: 'tokenType' }
    : { events: 'domain_event_entry', globalIndex: 'global_index', aggregateId: 'aggregate_identifier', seq: 'sequence_number', type: 'type', eventId: 'event_identifier', payloadType: 'payload_type', payload: 'payload', timeStamp: 'time_stamp', tokens: 'token_entry', processor: 'processor_name', tokenType: 'token_type' };

export async function createAxonSchema(db: ClientBase, layout: AxonLayout): Promise<void> {
  const n = names(layout.naming);
  await db.query(`CREATE TABLE IF NOT EXISTS ${n.events} (
    ${n.globalIndex} BIGSERIAL PRIMARY KEY,
    ${n.aggregateId} VARCHAR(255) NOT NULL, ${n.seq} BIGINT NOT NULL, ${n.type} VARCHAR(255),
    ${n.eventId} VARCHAR(255) NOT NULL UNIQUE, ${n.payloadType} VARCHAR(255) NOT NULL, ${n.payload} BYTEA NOT NULL,
    ${n.timeStamp} VARCHAR(255) NOT NULL, UNIQUE (${n.aggregateId}, ${n.seq}))`);
  // as JdbcTokenStore's PostgresTokenTableFactory and Hibernate 6 for JpaTokenStore create it
  // (test/fixtures/contracts/axon/4.13/*/dump.sql): JPA's timestamp is NOT NULL
  await db.query(`CREATE TABLE IF NOT EXISTS ${n.tokens} (
    ${n.processor} VARCHAR(255) NOT NULL, segment INTEGER NOT NULL,
    token ${layout.tokenStorage === 'largeObject' ? 'OID' : 'BYTEA'}, ${n.tokenType} VARCHAR(255),
    timestamp VARCHAR(255)${layout.naming === 'jpa' ? ' NOT NULL' : ''}, owner VARCHAR(255), PRIMARY KEY (${n.processor}, segment))`);
}

/** Appends events (aggregate, JSON payload) in one statement; returns the highest global index written. */
export async function appendEvents(db: ClientBase, naming: AxonNaming, events: { aggregate: string; seq: number; type: string; payload: unknown }[]): Promise<number> {
  if (!events.length) return -1;
  const n = names(naming);
  const { rows } = await db.query<{ last: string }>(
    `WITH ins AS (INSERT INTO ${n.events} (${n.aggregateId}, ${n.seq}, ${n.type}, ${n.eventId}, ${n.payloadType}, ${n.payload}, ${n.timeStamp})
       SELECT a, s, 'Order', gen_random_uuid()::text, t, convert_to(p, 'UTF8'), now()::text
       FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS e(a, s, t, p) RETURNING ${n.globalIndex} AS gi)
     SELECT max(gi) AS last FROM ins`,
    [events.map((e) => e.aggregate), events.map((e) => e.seq), events.map((e) => e.type), events.map((e) => JSON.stringify(e.payload))],
  );
  return Number(rows[0].last);
}

/** Seeds `count` OrderPlaced events in one statement (1,000,000 take some seconds, not a million round trips). */
export async function seedOrders(db: ClientBase, naming: AxonNaming, count: number, customers = 1000, products = 100): Promise<void> {
  const n = names(naming);
  await db.query(
    `INSERT INTO ${n.events} (${n.aggregateId}, ${n.seq}, ${n.type}, ${n.eventId}, ${n.payloadType}, ${n.payload}, ${n.timeStamp})
     SELECT 'seed-' || i, 0, 'Order', 'seed-' || i || '-' || gen_random_uuid(), 'OrderPlaced',
            convert_to(json_build_object('customer', 'c' || (i % $2), 'product', 'p' || (i % $3), 'qty', 1 + i % 5, 'price', 10 + i % 7)::text, 'UTF8'), now()::text
     FROM generate_series(1, $1) AS i`,
    [count, customers, products],
  );
}

/** Events after a global index, in order: what a tracking processor reads. */
export async function readEvents(db: ClientBase, naming: AxonNaming, after: number, limit: number): Promise<{ globalIndex: number; aggregate: string; type: string; payload: unknown }[]> {
  const n = names(naming);
  const { rows } = await db.query<{ gi: string; a: string; t: string; p: string }>(
    `SELECT ${n.globalIndex} AS gi, ${n.aggregateId} AS a, ${n.payloadType} AS t, convert_from(${n.payload}, 'UTF8') AS p
     FROM ${n.events} WHERE ${n.globalIndex} > $1 ORDER BY ${n.globalIndex} LIMIT $2`,
    [after, limit],
  );
  return rows.map((r) => ({ globalIndex: Number(r.gi), aggregate: r.a, type: r.t, payload: JSON.parse(r.p) as unknown }));
}

export const GAP_AWARE_TOKEN_TYPE = 'org.axonframework.eventhandling.GapAwareTrackingToken';

/**
 * A GapAwareTrackingToken at `index` with no gaps, as Axon 4.13's XStream and Jackson serializers write it
 * (the tokens of test/fixtures/contracts/axon/4.13/: a processor past the head it started at stores one).
 */
export function gapAwareToken(index: number, format: 'xml' | 'json'): string {
  return format === 'xml'
    ? `<${GAP_AWARE_TOKEN_TYPE}>\n  <index>${index}</index>\n  <gaps/>\n</${GAP_AWARE_TOKEN_TYPE}>`
    : JSON.stringify({ index, gaps: [] });
}

/** Stores a segment's token (create or replace), as bytes or as a large object (the old object is unlinked). */
export async function saveToken(db: ClientBase, layout: AxonLayout, row: { processor: string; segment: number; token: string | null; tokenType: string | null; owner?: string }): Promise<void> {
  const n = names(layout.naming);
  const lo = layout.tokenStorage === 'largeObject';
  if (lo) {
    await db.query(`SELECT lo_unlink(token) FROM ${n.tokens} WHERE ${n.processor} = $1 AND segment = $2 AND token IS NOT NULL`, [row.processor, row.segment]);
  }
  const value = lo ? `CASE WHEN $3::bytea IS NULL THEN NULL ELSE lo_from_bytea(0, $3::bytea) END` : '$3::bytea';
  await db.query(
    `INSERT INTO ${n.tokens} (${n.processor}, segment, token, ${n.tokenType}, timestamp, owner) VALUES ($1, $2, ${value}, $4, now()::text, $5)
     ON CONFLICT (${n.processor}, segment) DO UPDATE SET token = EXCLUDED.token, ${n.tokenType} = EXCLUDED.${n.tokenType}, timestamp = EXCLUDED.timestamp, owner = EXCLUDED.owner`,
    [row.processor, row.segment, row.token === null ? null : Buffer.from(row.token, 'utf8'), row.tokenType, row.owner ?? null],
  );
}
