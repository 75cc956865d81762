/**
 * The preview of an upgrade (POST /v1/upgrades?dryRun=true): its kind's plan,
 * the same code a start runs first, read-only, on the worker that reaches the
 * target; what it found, or why it refused. Plan changes nothing of the
 * target (Kong's reads `kong migrations status`, on Kubernetes through a
 * Job, as a start's does), and this runs under an id of its own, so the
 * target stays free.
 */
import { ActivityFailure } from '@temporalio/workflow';
import type { PlanOutcome } from '../domain/preview';
import { STEPS, alreadyRuns, releaseName, type Step, type UpgradeInput } from '../domain/upgrade';
import { WAIT, stepActivities, type ProxyOptions } from './activityOptions';
import { rootCause } from './failures';
import type { Calls, Strategy } from './strategy';
import { platformWorkload } from './workloadLife';

/** How long plan's reads retry a target that does not answer: an API request waits for the answer. */
export const PREVIEW_READ_MS = 20_000;

/** The steps whose workload part is the skeleton's for every kind (workloadLife.ts). */
const SKELETON_OWNS: Step[] = ['deployGreen', 'waitReady', 'cleanUpBlue'];

export function createPreviewUpgrade(strategyFor: (kind: UpgradeInput['kind']) => Strategy | undefined) {
  return async function previewUpgrade(input: UpgradeInput): Promise<PlanOutcome> {
    const strategy = strategyFor(input.kind);
    if (!strategy) return { refused: { message: `this worker has no strategy for kind ${input.kind}`, type: 'Misconfigured', reading: false } };
    try {
      const window = { step: 'plan' as const, deadline: Date.now() + PREVIEW_READ_MS };
      const calls: Calls = {
        activities: <A extends object>() => stepActivities<A>(input, window),
        longWaits: <A extends object>(o: ProxyOptions = WAIT) => stepActivities<A>(input, window, o),
      };
      const blue = await (strategy.workload ?? platformWorkload).readBlue({ input, ...calls }, strategy.blueEnv);
      const facts = await strategy.plan({ input, blue, ...calls });
      const green = { name: releaseName(input.target, input.version), version: input.version };
      const same = alreadyRuns(input.target, blue, green);
      if (same) return { refused: { message: same, type: 'Invalid', reading: false } };
      // the skeleton creates green (its undo removes it), waits for it and removes blue, whatever the kind
      const handled = STEPS.filter((s): s is Step => SKELETON_OWNS.includes(s) || (s !== 'plan' && !!strategy[s as keyof Strategy]));
      return {
        blue: { name: blue.name, version: blue.version, replicas: blue.replicas },
        green,
        handled,
        undone: handled.filter((s) => s === 'deployGreen' || !!(strategy[s as keyof Strategy] as { undo?: unknown } | undefined)?.undo),
        planned: strategy.planned?.(facts) ?? {},
      };
    } catch (err) {
      const { message, type } = rootCause(err);
      return { refused: { message, ...(type ? { type } : {}), reading: err instanceof ActivityFailure } };
    }
  };
}
