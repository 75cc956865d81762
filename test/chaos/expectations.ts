/** What every chaos run must show. */
import type { UpgradeRun } from './upgrades';

/**
 * Faults of every sort reached the run, and none of them shows in its
 * history: every activity completed (its failed attempts retried by Temporal
 * or by the activity itself, adding no event).
 */
export function expectFaultsInjected(r: UpgradeRun): void {
  expect(r.faults?.failed).toBeGreaterThan(0);
  expect(r.faults?.resetBefore).toBeGreaterThan(0);
  expect(r.faults?.resetAfter).toBeGreaterThan(0);
  expect(r.history.failed).toBe(0);
}
