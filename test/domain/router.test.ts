/** The router port's rules: which weights may be written, and when what a router serves, read back, is what was written. */
import { disagreement, shares, weightsProblem } from '../../src/domain/router';

test.each([
  [{ blue: 90, green: 10 }, undefined],
  [{ blue: 0, green: 100 }, undefined],
  [{ blue: 50, green: 40 }, 'weights must sum to 100, got {"blue":50,"green":40}'],
  [{ blue: 90.5, green: 9.5 }, 'weights must be whole numbers from 0, got {"blue":90.5,"green":9.5}'],
  [{ blue: 110, green: -10 }, 'weights must be whole numbers from 0, got {"blue":110,"green":-10}'],
])('weights %j: %s', (weights, problem) => {
  expect(weightsProblem(weights)).toBe(problem);
});

test("shares are percentages of what the router sends anywhere, whatever its weights' scale (nginx's per node, a Gateway's relative)", () => {
  expect(shares({ blue: 270, green: 30 })).toEqual({ blue: 90, green: 10 });
  expect(shares({ blue: 1, green: 2, old: 0 })).toEqual({ blue: 33.33, green: 66.67 });
  expect(shares({})).toEqual({});
});

test('a router serves what was written: the same shares, nothing elsewhere', () => {
  expect(disagreement({ blue: 90, green: 10 }, { weights: { blue: 270, green: 30 } })).toBeUndefined();
  expect(disagreement({ green: 100 }, { weights: { green: 100 }, readiness: 'anything' })).toBeUndefined();
  expect(disagreement({ blue: 90, green: 10 }, { weights: { blue: 100 } })).toBe('it serves blue 100%, not blue 90%, green 10%');
  // a backend that is no release (the user's own Service) still gets traffic
  expect(disagreement({ green: 100 }, { weights: { green: 1 }, unknown: { emqx: 1 } })).toBe('it serves green 50%, emqx (no release) 50%, not green 100%');
  expect(disagreement({ green: 100 }, { weights: {} })).toBe('it serves nothing, not green 100%');
});
