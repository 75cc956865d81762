/**
 * Reads one catch-up sample: the event store's head and a processor's
 * position over all its segments (the slowest segment counts). SQL sources
 * run their two queries on a small pool; the HTTP source asks the service.
 * The Axon and Marten presets check every row against a schema of what the
 * real system stores, and give positions as the system itself reports them.
 */
import type { Pool } from 'pg';
import { AXON, axonTokenPosition } from '../../domain/projection/axonTokens';
import { AxonTokenRow, checkRow, HeadRow, MARTEN, MartenProgressRow } from '../../domain/projection/rows';
import { axonTokenColumnQuery, axonTokenStorage, catchUpQueries, type AxonSource, type CatchUpSource, type MartenSource, type SqlSource } from '../../domain/projection/source';

/** No position: a processor without segments, or (Marten, the user's SQL) an empty store's head. */
export const NO_POSITION = -1;

export interface SegmentPosition {
  segment: string;
  position: number;
}

export interface CatchUpReading {
  head: number;
  /** The slowest segment's position; -1 when the processor has no segment. */
  position: number;
  segments: SegmentPosition[];
}

export interface CatchUpReader {
  read(i: { processor: string; release: string }): Promise<CatchUpReading>;
}

export class CatchUpSourceError extends Error {
  override name = 'CatchUpSourceError';
}

type PoolOf = () => Pool;

export function catchUpReader(source: CatchUpSource, deps: { pool?: PoolOf; fetch?: typeof fetch; timeoutMs?: number }): CatchUpReader {
  if (source.preset === 'http') return httpReader(source.url, deps.fetch ?? fetch, deps.timeoutMs ?? 5000);
  if (!deps.pool) throw new CatchUpSourceError(`the ${source.preset} catch-up source needs the event store's database`);
  const pool = deps.pool;
  switch (source.preset) {
    case 'axon':
      return axonReader(source, pool);
    case 'marten':
      return martenReader(source, pool);
    case 'sql':
      return sqlReader(source, pool);
  }
}

/** A reader over two queries: the head, and the rows of the processor's segments turned into positions. */
function queryReader(
  pool: PoolOf,
  queries: () => Promise<{ head: string; position: string }>,
  segmentsOf: (rows: unknown[], processor: string) => SegmentPosition[],
  headOf: (row: unknown) => number,
): CatchUpReader {
  return {
    async read({ processor }) {
      const q = await queries();
      const [h, rows] = await Promise.all([pool().query(q.head), pool().query(q.position, [processor])]);
      const segments = segmentsOf(rows.rows, processor);
      return { head: headOf(h.rows[0]), position: segments.length ? Math.min(...segments.map((s) => s.position)) : NO_POSITION, segments };
    },
  };
}

/**
 * Axon: the token column's type says how tokens are stored (bytea, or an oid large object with JPA on
 * Hibernate 6), read once; a configured tokenStorage that contradicts it fails naming the setting. The head
 * is 0 on an empty store, as Axon reports a missing head token.
 */
function axonReader(source: AxonSource, pool: PoolOf): CatchUpReader {
  let resolved: Promise<ReturnType<typeof catchUpQueries>> | undefined;
  const queries = () =>
    (resolved ??= (async () => {
      const column = axonTokenColumnQuery(source);
      const { rows } = await pool().query<{ data_type: string }>(column.sql, column.params);
      return catchUpQueries({ ...source, tokenStorage: axonTokenStorage(source, rows[0]?.data_type) });
    })().catch((err: unknown) => {
      resolved = undefined; // a failed look-up is tried again at the next reading
      throw err;
    }));
  return queryReader(
    pool,
    queries,
    (rows, processor) =>
      rows.flatMap((raw) => {
        const row = checkRow(AxonTokenRow, raw, `${AXON}: a token row of processor ${processor}`);
        const position = axonTokenPosition(row.token, row.token_type, `processor ${processor} segment ${row.segment}`);
        return position === undefined ? [] : [{ segment: String(row.segment), position }];
      }),
    (row) => Number(checkRow(HeadRow, row, `${AXON}: the event store's head`).head ?? 0),
  );
}

/** Marten: one row per shard of the projection, a null last_seq_id as 0 (nothing processed). */
function martenReader(source: MartenSource, pool: PoolOf): CatchUpReader {
  const queries = catchUpQueries(source);
  return queryReader(
    pool,
    async () => queries,
    (rows, processor) =>
      rows.map((raw) => {
        const row = checkRow(MartenProgressRow, raw, `${MARTEN}: an mt_event_progression row of ${processor}`);
        return { segment: row.segment, position: Number(row.position ?? 0) };
      }),
    (row) => {
      const head = checkRow(HeadRow, row, `${MARTEN}: the event store's head`).head;
      return head === null ? NO_POSITION : Number(head);
    },
  );
}

/** The user's own queries: the first column of each row. */
function sqlReader(source: SqlSource, pool: PoolOf): CatchUpReader {
  const queries = catchUpQueries(source);
  return queryReader(
    pool,
    async () => queries,
    (rows, processor) =>
      (rows as Record<string, unknown>[]).map((row, i) => ({
        segment: String(row.segment ?? i),
        position: toPosition('position' in row ? row.position : Object.values(row)[0], `position of ${processor}`),
      })),
    (row) => toPosition(Object.values((row ?? {}) as Record<string, unknown>)[0], 'head'),
  );
}

function httpReader(template: string, fetchFn: typeof fetch, timeoutMs: number): CatchUpReader {
  return {
    async read({ processor, release }) {
      const url = template.replaceAll('{release}', encodeURIComponent(release)).replaceAll('{processor}', encodeURIComponent(processor));
      const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new CatchUpSourceError(`GET ${url}: HTTP ${res.status}`);
      const body = (await res.json()) as { position?: unknown; head?: unknown };
      const position = toPosition(body.position, `${url} .position`);
      return { head: toPosition(body.head, `${url} .head`), position, segments: [{ segment: '0', position }] };
    },
  };
}

/** pg returns bigint and numeric columns as strings; null (an empty store) is no position. */
function toPosition(v: unknown, what: string): number {
  if (v === null || v === undefined) return NO_POSITION;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new CatchUpSourceError(`${what}: ${JSON.stringify(v)} is not a number`);
  return n;
}
