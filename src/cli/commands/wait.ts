/** --wait: follow an upgrade to its end, a line per change, and exit with its outcome (0 SUCCEEDED, 3 ROLLED_BACK, 4 FAILED). */
import { parseDuration } from '../../domain/duration';
import { stoppedOutside } from '../../view/upgradeView';
import type { ApiClient } from '../client';
import { CliError, EXIT } from '../exitCodes';
import { follow, outcomeCode } from '../follow';
import { changeLine } from '../frame';
import { print, type Io } from '../io';

export interface WaitFlags {
  wait?: boolean;
  /** e.g. 30m: give up with exit 8. */
  timeout?: string;
  /** Between reads of the state, e.g. 1s. */
  interval: string;
}

export function duration(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch (err) {
    throw new CliError(EXIT.usage, `${flag} ${(err as Error).message}`);
  }
}

export async function waitForOutcome(api: ApiClient, io: Io, id: string, flags: WaitFlags): Promise<number> {
  let line: string | undefined;
  const end = await follow(api, id, {
    intervalMs: duration('--interval', flags.interval)!,
    timeoutMs: duration('--timeout', flags.timeout),
    onState: (u) => {
      const next = changeLine(u);
      if (!io.json && next !== line) io.out(`${new Date().toISOString()} ${next}`);
      line = next;
    },
    onRetry: (err) => io.err(`still following ${id}: ${err.message}`),
  });
  const code = outcomeCode(end);
  print(io, end, () => [`${id} ended ${end.status}${stoppedOutside(end) ? ` (${end.execution})` : ''}${end.failure ? `: ${end.failure.message}` : ''}`]);
  return code;
}
