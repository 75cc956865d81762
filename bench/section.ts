/** One part of `npm run bench`: it sets up what it needs, measures, and returns its figures. */
export interface BenchSection {
  name: string;
  run(): Promise<Record<string, unknown>>;
}

export const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** p50/p95/p99 of a set of durations, rounded to 0.01 ms. */
export function latency(ms: number[]): { samples: number; p50Ms: number; p95Ms: number; p99Ms: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => +percentile(sorted, p).toFixed(2);
  return { samples: ms.length, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99) };
}
