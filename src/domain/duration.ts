/** Durations as people write them ("90s", "10m", "1h30m", "24h"), parsed to milliseconds. */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h|d))+$';
const PART = /([0-9]+)(ms|s|m|h|d)/g;

/** The longest text a duration may be: "29d23h59m59s999ms" is 17 characters. */
export const DURATION_MAX_LENGTH = 32;

/** The longest any duration of an upgrade may be (a policy may say less): timers and dates stay far inside what Temporal and Date can hold. */
export const MAX_DURATION_MS = 30 * UNIT_MS.d;
export const MAX_DURATION = '30d';

export function parseDuration(text: string): number {
  if (text.length > DURATION_MAX_LENGTH) throw new Error(`a duration is at most ${DURATION_MAX_LENGTH} characters long`);
  if (!new RegExp(DURATION_PATTERN).test(text)) throw new Error(`'${text}' is not a duration: write it like 90s, 10m, 1h30m or 24h`);
  let total = 0;
  for (const [, n, unit] of text.matchAll(PART)) total += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  // Digits beyond what a double holds exactly would round, or reach Infinity.
  if (!Number.isSafeInteger(total)) throw new Error(`'${text}' is too long a duration: at most ${MAX_DURATION}`);
  return total;
}

/** A duration that may be absent (an option not given). */
export function parseOptionalDuration(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}

export function formatDuration(ms: number): string {
  if (ms % UNIT_MS.h === 0 && ms > 0) return `${ms / UNIT_MS.h}h`;
  if (ms % UNIT_MS.m === 0 && ms > 0) return `${ms / UNIT_MS.m}m`;
  if (ms % UNIT_MS.s === 0) return `${ms / UNIT_MS.s}s`;
  return `${ms}ms`;
}

/** Rounded to the second and composed, e.g. 1h19m50s: for ETAs and elapsed times. */
export function humanDuration(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}
