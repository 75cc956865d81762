/** Where a command writes, and how: text for people (coloured on a terminal) or JSON for scripts. */
import type { Style } from './text';

export interface Io {
  json: boolean;
  style: Style;
  /** The terminal's size, or undefined when stdout is no terminal. */
  columns?: number;
  rows?: number;
  out(text: string): void;
  err(text: string): void;
}

export function processIo(json: boolean): Io {
  const tty = process.stdout.isTTY === true;
  return {
    json,
    style: { color: tty && !process.env.NO_COLOR && process.env.TERM !== 'dumb' },
    columns: tty ? process.stdout.columns || 80 : undefined,
    rows: tty ? process.stdout.rows || 24 : undefined,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  };
}

/** A command's answer: the JSON as the API gave it, or the lines for people. */
export function print(io: Io, json: unknown, text: () => string[]): void {
  if (io.json) io.out(JSON.stringify(json, null, 2));
  else for (const line of text()) io.out(line);
}
