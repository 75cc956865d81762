/** Catch-up arithmetic: lag, smoothed rates, an ETA that accounts for appends, stalls and the hold time. */
import { DEFAULT_CATCH_UP_POLICY, describeProgress, isCaughtUp, nextProgress, type CatchUpProgress } from '../../../src/domain/projection/catchUp';

const policy = { ...DEFAULT_CATCH_UP_POLICY, maxLag: 100, holdMs: 10_000, stallAfterMs: 30_000, smoothingMs: 20_000 };

/** Feeds samples every `every` ms from a processor at `rate`/s and a producer at `append`/s. */
function run(steps: number, o: { rate: number; append: number; head0: number; every?: number; from?: CatchUpProgress }): CatchUpProgress {
  const every = o.every ?? 5000;
  let p = o.from;
  const t0 = p?.lastSample.at ?? 0;
  const pos0 = p?.position ?? 0;
  const head0 = p?.head ?? o.head0;
  for (let i = p ? 1 : 0; i <= steps; i++) {
    const t = t0 + i * every;
    const head = head0 + Math.round((o.append * (t - t0)) / 1000);
    p = nextProgress(p, { at: t, head, position: Math.min(head, pos0 + Math.round((o.rate * (t - t0)) / 1000)) }, policy);
  }
  return p!;
}

test('the ETA divides what is left by how fast the lag shrinks: processing minus appending', () => {
  // 1,000,000 events behind, processing 1,000/s while 200/s are appended: 1,250 s to go
  const p = run(12, { rate: 1000, append: 200, head0: 1_000_000 });
  expect(p.rate).toBeCloseTo(1000, -1);
  expect(p.appendRate).toBeCloseTo(200, -1);
  const left = (p.lag - policy.maxLag) / 800;
  expect(p.etaMs! / 1000).toBeCloseTo(left, 0);
  expect(p.stalledSince).toBeUndefined();
  expect(describeProgress(p)).toMatch(/lag \d+, 1000 events\/s, ETA \d+m\d*s?/);
});

test('a processor slower than the producer has no ETA', () => {
  expect(run(5, { rate: 100, append: 200, head0: 10_000 }).etaMs).toBeUndefined();
});

test('a position that stops moving is a stall after stallAfterMs, reported with the time of the last progress', () => {
  const moving = run(4, { rate: 500, append: 10, head0: 100_000 });
  const stuck25 = run(5, { rate: 0, append: 10, head0: 0, from: moving });
  expect(stuck25.stalledSince).toBeUndefined();
  const stuck35 = run(7, { rate: 0, append: 10, head0: 0, from: moving });
  expect(stuck35.stalledSince).toBe(moving.lastSample.at);
  expect(stuck35.etaMs).toBeUndefined();
  expect(stuck35.rate).toBe(0); // not the pace it had before it stopped
  expect(describeProgress(stuck35)).toContain(`no progress since ${new Date(moving.lastSample.at).toISOString()}`);
  // it moves again: no longer stalled
  expect(run(1, { rate: 500, append: 10, head0: 0, from: stuck35 }).stalledSince).toBeUndefined();
});

test('caught up only once the lag has stayed within maxLag for the hold time; an idle caught-up processor is no stall', () => {
  const near = run(3, { rate: 1000, append: 0, head0: 14_950 });
  expect(near.lag).toBeLessThanOrEqual(100);
  expect(isCaughtUp(near, policy)).toBe(false);
  const held = run(3, { rate: 0, append: 0, head0: 0, from: near });
  expect(isCaughtUp(held, policy)).toBe(true);
  expect(held.stalledSince).toBeUndefined();
  // a burst of appends breaks the hold
  const burst = nextProgress(held, { at: held.lastSample.at + 1000, head: held.head + 5000, position: held.position }, policy);
  expect(burst.caughtUpSince).toBeUndefined();
});

test('at 10% of a fast catch-up the ETA holds within 5%: a processor moving in batches is measured from its first reading, not by its first interval', () => {
  // 75,000 events/s in batches of 5,000 (one every 66.7 ms), read every 250 ms: an interval counts 3 or 4 batches
  const fast = { ...policy, smoothingMs: 2500 };
  const [rate, batch, append, head0] = [75_000, 5000, 200, 1_000_000];
  for (const offsetMs of [0, 20, 40, 60]) {
    const position = (t: number) => Math.floor(((t + offsetMs) * rate) / 1000 / batch) * batch;
    const head = (t: number) => head0 + Math.round((append * t) / 1000);
    let p: CatchUpProgress | undefined;
    let t = 0;
    for (; !p || p.position < 0.1 * p.head; t += 250) p = nextProgress(p, { at: t, head: head(t), position: position(t) }, fast);
    let done = p.lastSample.at;
    while (head(done) - position(done) > fast.maxLag) done += 1;
    const actual = done - p.lastSample.at;
    expect(Math.abs(p.etaMs! - actual) / actual).toBeLessThan(0.05);
  }
});

test('past its start the smoothing follows a processor that slows down', () => {
  const steady = run(20, { rate: 1000, append: 0, head0: 10_000_000 });
  const slower = run(40, { rate: 500, append: 0, head0: 0, from: steady });
  expect(slower.rate).toBeCloseTo(500, -1);
});
