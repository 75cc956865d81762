/**
 * Router weights and the phases they imply (the README's "How an upgrade
 * runs", promote): the releases with weight above 0 are exactly the SERVING
 * ones, and the weights sum to 100. Pure, so the workflow, the API and the
 * tests share one rule.
 */
import type { Phase, PhaseEvent } from './phases';

export type Role = 'blue' | 'green';

/**
 * The phase events that bring both releases in line with green's new weight,
 * in the order to apply them: a release joins service before the other
 * leaves it, so at no instant does nobody serve.
 */
export function phaseEventsForWeight(phases: Record<Role, Phase>, greenWeight: number): { role: Role; event: PhaseEvent }[] {
  if (!Number.isInteger(greenWeight) || greenWeight < 0 || greenWeight > 100) {
    throw new RangeError(`green's weight must be an integer from 0 to 100, not ${greenWeight}`);
  }
  const events: { role: Role; event: PhaseEvent }[] = [];
  if (greenWeight > 0 && phases.green === 'INITIALISING') events.push({ role: 'green', event: 'promote' });
  if (greenWeight < 100 && phases.blue === 'STANDING_BY') events.push({ role: 'blue', event: 'reinstate' });
  if (greenWeight === 100 && phases.blue === 'SERVING') events.push({ role: 'blue', event: 'standBy' });
  if (greenWeight === 0 && (phases.green === 'SERVING' || phases.green === 'INITIALISING')) events.push({ role: 'green', event: 'retire' });
  return events;
}

/** Weights by release name for the platform port: a release at 0 is left out. */
export function weightsByRelease(names: Record<Role, string>, greenWeight: number): Record<string, number> {
  const weights: Record<string, number> = {};
  if (greenWeight < 100) weights[names.blue] = 100 - greenWeight;
  if (greenWeight > 0) weights[names.green] = greenWeight;
  return weights;
}

/** Why a list of green weights cannot be a traffic plan, or undefined when it can. */
export function trafficPlanProblem(weights: number[]): string | undefined {
  if (weights.length === 0) return 'needs at least one step';
  for (const [i, w] of weights.entries()) {
    if (!Number.isInteger(w) || w < 1 || w > 100) return `step ${i + 1}: weight must be an integer from 1 to 100, not ${w}`;
    if (i > 0 && w <= weights[i - 1]) return `step ${i + 1}: weights must rise (${weights[i - 1]} then ${w})`;
  }
  if (weights[weights.length - 1] !== 100) return `the last step must send all traffic to green (weight 100), not ${weights[weights.length - 1]}`;
  return undefined;
}
