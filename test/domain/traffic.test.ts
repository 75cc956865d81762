/** Weights and phases during a split: every reachable (blue, green) pair at every kind of weight, and the plan's rules. */
import { IllegalTransitionError, PHASES, nextPhase, type Phase } from '../../src/domain/phases';
import { phaseEventsForWeight, trafficPlanProblem, weightsByRelease, type Role } from '../../src/domain/traffic';

/** The weight classes that matter: none, a split, all. */
const WEIGHTS = [0, 10, 100];
const pairs = PHASES.flatMap((blue) => PHASES.flatMap((green) => WEIGHTS.map((w) => [blue, green, w] as [Phase, Phase, number])));

/** Both phases after green's weight changes, as the workflow applies the events. Throws IllegalTransitionError when a release cannot follow. */
function phasesAtWeight(phases: Record<Role, Phase>, greenWeight: number): Record<Role, Phase> {
  const next = { ...phases };
  for (const { role, event } of phaseEventsForWeight(phases, greenWeight)) next[role] = nextPhase(next[role], event);
  return next;
}

/** What the README says ("How an upgrade runs", promote): weight above 0 <=> SERVING, for both releases. */
function servingMatchesWeights(phases: { blue: Phase; green: Phase }, greenWeight: number): boolean {
  return (phases.green === 'SERVING') === greenWeight > 0 && (phases.blue === 'SERVING') === greenWeight < 100;
}

/** The pairs an upgrade can be in: blue serves or stands by while green comes up; or green serves and blue is leaving; or a rollback. */
const REACHABLE = new Set([
  'SERVING/SCHEDULED',
  'SERVING/INITIALISING',
  'SERVING/SERVING',
  'STANDING_BY/SERVING',
  'SERVING/CLEANING_UP',
  'SERVING/OBSOLETE',
  'CLEANING_UP/SERVING',
  'OBSOLETE/SERVING',
]);

describe('phases follow green weight', () => {
  test(`covers all ${PHASES.length ** 2 * WEIGHTS.length} (blue, green, weight) triples`, () => {
    expect(pairs).toHaveLength(108);
  });

  test.each(pairs)('blue %s, green %s, green weight %i', (blue, green, w) => {
    const from = { blue, green };
    let to: { blue: Phase; green: Phase };
    try {
      to = phasesAtWeight(from, w);
    } catch (err) {
      // Only a release that cannot follow throws, and never from a pair an upgrade reaches with weights it allows.
      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect(REACHABLE.has(`${blue}/${green}`) && !(green === 'SCHEDULED' && w > 0)).toBe(false);
      return;
    }
    const liveBefore = REACHABLE.has(`${blue}/${green}`) && ['SERVING/INITIALISING', 'SERVING/SERVING', 'STANDING_BY/SERVING'].includes(`${blue}/${green}`);
    if (liveBefore) expect(servingMatchesWeights(to, w)).toBe(true);
    // A release joins service before the other leaves it.
    const events = phaseEventsForWeight(from, w);
    const joins = events.findIndex((e) => e.event === 'promote' || e.event === 'reinstate');
    const leaves = events.findIndex((e) => e.event === 'standBy' || e.event === 'retire');
    if (joins >= 0 && leaves >= 0) expect(joins).toBeLessThan(leaves);
  });

  test('a weighted shift and its rollback', () => {
    let p: { blue: Phase; green: Phase } = { blue: 'SERVING', green: 'INITIALISING' };
    p = phasesAtWeight(p, 10);
    expect(p).toEqual({ blue: 'SERVING', green: 'SERVING' });
    p = phasesAtWeight(p, 50);
    expect(p).toEqual({ blue: 'SERVING', green: 'SERVING' });
    p = phasesAtWeight(p, 100);
    expect(p).toEqual({ blue: 'STANDING_BY', green: 'SERVING' });
    expect(phaseEventsForWeight(p, 0)).toEqual([
      { role: 'blue', event: 'reinstate' },
      { role: 'green', event: 'retire' },
    ]);
    expect(phasesAtWeight(p, 0)).toEqual({ blue: 'SERVING', green: 'CLEANING_UP' });
  });

  test('weights out of range are refused', () => {
    expect(() => phaseEventsForWeight({ blue: 'SERVING', green: 'INITIALISING' }, 101)).toThrow(RangeError);
    expect(() => phaseEventsForWeight({ blue: 'SERVING', green: 'INITIALISING' }, 2.5)).toThrow(RangeError);
  });
});

test('weights by release leave out a release at 0 and sum to 100', () => {
  const names = { blue: 'b', green: 'g' };
  expect(weightsByRelease(names, 0)).toEqual({ b: 100 });
  expect(weightsByRelease(names, 10)).toEqual({ b: 90, g: 10 });
  expect(weightsByRelease(names, 100)).toEqual({ g: 100 });
});

test.each([
  [[10, 50, 100], undefined],
  [[100], undefined],
  [[], 'needs at least one step'],
  [[10, 50], 'the last step must send all traffic to green (weight 100), not 50'],
  [[50, 10, 100], 'step 2: weights must rise (50 then 10)'],
  [[0, 100], 'step 1: weight must be an integer from 1 to 100, not 0'],
])('traffic plan %j: %s', (weights, problem) => {
  expect(trafficPlanProblem(weights)).toBe(problem);
});
