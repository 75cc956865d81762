/**
 * One PostgreSQL connection for one piece of work: opened, used, closed
 * whatever happens; for activities, its failures said as retryable or not by
 * what PostgreSQL means (SQLSTATE classes, PostgreSQL's errcodes appendix).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { Client, type ClientConfig } from 'pg';
import { tryAgainQuickly } from './transient';

export async function withClient<T>(config: string | ClientConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client(config);
  // a connection reset emits 'error' besides failing the query that runs (or the next one): unheard, it would end the process
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    // a connection the server already dropped has nothing left to close
    await c.end().catch(() => undefined);
  }
}

/**
 * SQLSTATEs that may pass: 08 connection exceptions, 53 insufficient
 * resources (too many connections), 57P01-57P03 a server shutting down or
 * starting, 40001/40P01 a serialization failure or deadlock (a concurrent
 * write), 55P03 a lock not available, 58 system and I/O errors.
 */
const TRANSIENT_SQLSTATE = /^(08|53|57P0[1-3]|40001|40P01|55P03|58)/;

/**
 * A PostgreSQL failure as an activity failure: no SQLSTATE (the connection
 * refused, reset or timed out) or a transient one is retried; refused
 * credentials or rights, a missing database and any other error of the
 * statement itself are not.
 */
export function pgFailure(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const code = (err as { code?: unknown }).code;
  const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const text = `${what}: ${(err as Error).message ?? String(err)}${sqlstate ? ` (SQLSTATE ${sqlstate})` : code ? ` (${String(code)})` : ''}`;
  if (!sqlstate || TRANSIENT_SQLSTATE.test(sqlstate)) return ApplicationFailure.retryable(text, 'DatabaseUnavailable');
  if (sqlstate.startsWith('28') || sqlstate === '42501') return ApplicationFailure.nonRetryable(text, 'Unauthorized');
  if (sqlstate === '3D000') return ApplicationFailure.nonRetryable(text, 'NotFound');
  return ApplicationFailure.nonRetryable(text, 'DatabaseRefused');
}

/** withClient for an activity: its failures classified by pgFailure, a transient one tried again at once on a new connection (fn must be safe to repeat). */
export function withDatabase<T>(config: string | ClientConfig, what: string, fn: (c: Client) => Promise<T>): Promise<T> {
  return tryAgainQuickly(() =>
    withClient(config, fn).catch((err: unknown) => {
      throw pgFailure(err, what);
    }),
  );
}
