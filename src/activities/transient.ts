/**
 * Transient failures as the activities meet them: why a request got no
 * answer, and a read inside a wait, which rides through them (the wait polls
 * again and says why in its heartbeat).
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

export type Read<T> = { ok: T } | { failed: string };

/** The read's value, or why it failed this time if another poll may succeed; a failure retrying cannot mend ends the wait. */
export async function readInWait<T>(read: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: await read() };
  } catch (err) {
    if (err instanceof ApplicationFailure && !err.nonRetryable) return { failed: err.message };
    throw err;
  }
}
