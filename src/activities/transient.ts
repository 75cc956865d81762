/**
 * Transient failures as the activities meet them: why a request got no
 * answer; a request tried again at once before its activity attempt fails
 * (a flaky API costs milliseconds, not Temporal's backoff of seconds); and
 * a read inside a wait, which rides through them (the wait polls again and
 * says why in its heartbeat).
 */
import { ApplicationFailure } from '@temporalio/activity';

/** Why fetch got no answer: timed out, or the socket's error code (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET). */
export function noAnswerCause(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** The socket's error code behind a fetch that got no answer, if any. */
export const noAnswerCode = (err: unknown): string | undefined => (err as { cause?: { code?: string } }).cause?.code;

const retryable = (err: unknown): boolean => err instanceof ApplicationFailure && !err.nonRetryable;

export type Read<T> = { ok: T } | { failed: string };

/** The read's value, or why it failed this time if another poll may succeed; a failure retrying cannot mend ends the wait. */
export async function readInWait<T>(read: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: await read() };
  } catch (err) {
    if (retryable(err)) return { failed: (err as Error).message };
    throw err;
  }
}

/**
 * Pauses before a request is tried again within one attempt: two more
 * tries, about 100 ms and 300 ms later (jittered, so callers that failed
 * together do not come back together). Retrying more than that is left to
 * Temporal's backoff, which grows for an API that stays down.
 */
const QUICK_RETRY_MS = [100, 300];

/**
 * fn, tried again after a transient failure (a retryable failure it throws,
 * or an answer `transient` says is one) up to twice; the last outcome is
 * returned or thrown. fn must be safe to repeat, as every activity is.
 */
export async function tryAgainQuickly<T>(
  fn: () => Promise<T>,
  o: { transient?: (value: T) => boolean; failed?: (err: unknown) => boolean } = {},
  pauses: readonly number[] = QUICK_RETRY_MS,
): Promise<T> {
  const [pause, ...rest] = pauses;
  if (pause === undefined) return fn();
  try {
    const value = await fn();
    if (!o.transient?.(value)) return value;
  } catch (err) {
    if (!(o.failed ?? retryable)(err)) throw err;
  }
  await new Promise((r) => setTimeout(r, pause * (0.5 + Math.random())));
  return tryAgainQuickly(fn, o, rest);
}
