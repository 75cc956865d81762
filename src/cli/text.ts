/** Text for a terminal: tables, sections and colours (only on a terminal, and never with NO_COLOR). */
import type { Cell, Section, Tone } from '../view/panel';

const CODES: Record<Tone | 'bold', [number, number]> = { ok: [32, 39], warn: [33, 39], bad: [31, 39], muted: [2, 22], bold: [1, 22] };

export interface Style {
  color: boolean;
}

export const paint = (style: Style, tone: Tone | 'bold' | undefined, text: string): string =>
  style.color && tone ? `\x1b[${CODES[tone][0]}m${text}\x1b[${CODES[tone][1]}m` : text;

/** Columns padded to their widest cell; the last column is not padded. */
export function table(style: Style, columns: string[], rows: Cell[][], indent = ''): string[] {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]?.text.length ?? 0)));
  const line = (cells: Cell[], header = false) =>
    indent +
    cells
      .map((c, i) => {
        const text = i === cells.length - 1 ? c.text : c.text.padEnd(widths[i]);
        return paint(style, header ? 'bold' : c.tone, text);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((text) => ({ text: text.toUpperCase() })), true), ...rows.map((r) => line(r))];
}

export function section(style: Style, s: Section): string[] {
  const lines = [paint(style, 'bold', s.title)];
  if (s.rows?.length) {
    const width = Math.max(...s.rows.map((r) => r.label.length));
    for (const r of s.rows) lines.push(`  ${r.label.padEnd(width)}  ${paint(style, r.tone, r.value)}`);
  }
  if (s.table) lines.push(...table(style, s.table.columns, s.table.rows, '  '));
  return lines;
}

/** [#######-------] */
export function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

const ESC = '\u001b';
const SGR = `${ESC}\\[[0-9;]*m`;

/** A visible width: escape sequences take no room. */
export const visibleLength = (text: string): number => text.replace(new RegExp(SGR, 'g'), '').length;

/** Cut to the terminal's width, so that no line wraps and a redraw knows its height. */
export function fit(line: string, columns: number): string {
  if (visibleLength(line) <= columns) return line;
  let out = '';
  let seen = 0;
  for (const part of line.split(new RegExp(`(${SGR})`))) {
    if (part.startsWith(`${ESC}[`)) out += part;
    else {
      const room = columns - 1 - seen;
      out += part.slice(0, Math.max(0, room));
      seen += Math.min(part.length, Math.max(0, room));
    }
  }
  return `${out}…\x1b[0m`;
}
