/**
 * cutover watch: on a terminal, the upgrade redrawn in place at each change;
 * otherwise one line per change (or, with --output json, one state per line).
 * It ends when the upgrade does, with the outcome's exit code.
 */
import type { UpgradeView } from '../../view/upgradeView';
import type { ApiClient } from '../client';
import { follow, outcomeCode } from '../follow';
import { changeLine, frame } from '../frame';
import type { Io } from '../io';
import { upgradeIdOf } from '../resolve';
import { fit } from '../text';
import { duration } from './wait';

/** Moves the cursor up over the last frame, to its first column, and clears to the end of the screen. */
const redraw = (height: number): string => (height ? `\u001b[${height}A\r\u001b[J` : '');

export async function watch(api: ApiClient, io: Io, idOrTarget: string, flags: { interval: string }): Promise<number> {
  const id = await upgradeIdOf(api, idOrTarget);
  let height = 0;
  let line: string | undefined;
  const show = (u: UpgradeView) => {
    if (io.json) return io.out(JSON.stringify(u));
    if (io.columns === undefined) {
      const next = changeLine(u);
      if (next !== line) io.out(`${new Date().toISOString()} ${next}`);
      line = next;
      return;
    }
    const footer = `${new Date().toLocaleTimeString()}  following ${id} (Ctrl-C stops watching, not the upgrade)`;
    // a frame taller than the screen could not be redrawn in place: it is cut, and says so
    let body = frame(io.style, u);
    const room = (io.rows ?? 24) - 2;
    if (body.length > room) body = [...body.slice(0, room - 1), `… ${body.length - room + 1} more lines: enlarge the terminal, or use cutover status ${id}`];
    const lines = [...body, footer].map((l) => fit(l, io.columns!));
    io.out(`${redraw(height)}${lines.join('\n')}`);
    height = lines.length;
  };
  const end = await follow(api, id, { intervalMs: duration('--interval', flags.interval)!, onState: show, onRetry: (err) => io.err(err.message) });
  return outcomeCode(end);
}
