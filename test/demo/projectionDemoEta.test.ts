/** The projection demo's ETA accuracy: the reading at 10% of the way against when the lag first reached the threshold. */
import type { CatchUpProgress } from '../../src/domain/projection/catchUp';
import { etaAccuracy } from '../../src/demo/projectionDemo';

const first = { at: 0, head: 1000, position: 0 };
const reading = (at: number, position: number, o: Partial<CatchUpProgress> = {}): CatchUpProgress => ({
  head: 1000,
  position,
  lag: 1000 - position,
  rate: 100,
  appendRate: 0,
  etaMs: ((900 - position) / 100) * 1000,
  lastProgressAt: at,
  firstSample: first,
  lastSample: { at, head: 1000, position },
  ...o,
});

test('the first reading at or past 10% with an ETA, against the time to caught up the watch recorded', () => {
  const readings = [reading(0, 0, { etaMs: undefined }), reading(500, 50), reading(1500, 150), reading(2500, 250), reading(11_000, 950, { caughtUpSince: 10_000, etaMs: 0 })];
  // at 15%: 7.5 s predicted, caught up 8.5 s later
  expect(etaAccuracy(readings)).toEqual({ atPct: 15, position: 150, head: 1000, takenAtSec: 1.5, takenAt: 1500, caughtUpAt: 10_000, predictedSec: 7.5, actualSec: 8.5, errorPct: -11.8, rate: 100, appendRate: 0 });
});

test('no measure without a reading past 10% or without catching up', () => {
  expect(etaAccuracy([reading(0, 0), reading(500, 50)])).toBeNull();
  expect(etaAccuracy([reading(0, 0), reading(1500, 150), reading(2500, 250)])).toBeNull();
});
