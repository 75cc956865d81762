/**
 * Reads one catch-up sample: the event store's head and a processor's
 * position over all its segments (the slowest segment counts). SQL sources
 * run their two queries on a small pool; the HTTP source asks the service.
 */
import type { Pool } from 'pg';
import { axonTokenPosition, NO_POSITION } from '../../domain/projection/axonTokens';
import { catchUpQueries, type CatchUpSource } from '../../domain/projection/source';

export interface SegmentPosition {
  segment: string;
  position: number;
}

export interface CatchUpReading {
  head: number;
  /** The slowest segment's position; -1 when no segment has processed anything. */
  position: number;
  segments: SegmentPosition[];
}

export interface CatchUpReader {
  read(i: { processor: string; release: string }): Promise<CatchUpReading>;
}

export class CatchUpSourceError extends Error {
  override name = 'CatchUpSourceError';
}

export function catchUpReader(source: CatchUpSource, deps: { pool?: () => Pool; fetch?: typeof fetch; timeoutMs?: number }): CatchUpReader {
  if (source.preset === 'http') return httpReader(source.url, deps.fetch ?? fetch, deps.timeoutMs ?? 5000);
  const queries = catchUpQueries(source);
  if (!deps.pool) throw new CatchUpSourceError(`the ${source.preset} catch-up source needs the event store's database`);
  const pool = deps.pool;
  return {
    async read({ processor }) {
      const [head, rows] = await Promise.all([pool().query(queries.head), pool().query(queries.position, [processor])]);
      const segments: SegmentPosition[] = [];
      rows.rows.forEach((row: Record<string, unknown>, i) => {
        const segment = String(row.segment ?? i);
        const position =
          queries.positions === 'axonTokens'
            ? axonTokenPosition(row.token as Buffer | null, row.token_type as string | null)
            : toPosition('position' in row ? row.position : Object.values(row)[0], `position of ${processor}`);
        if (position !== undefined) segments.push({ segment, position });
      });
      return {
        head: toPosition(Object.values(head.rows[0] ?? {})[0] ?? NO_POSITION, 'head'),
        position: segments.length ? Math.min(...segments.map((s) => s.position)) : NO_POSITION,
        segments,
      };
    },
  };
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
