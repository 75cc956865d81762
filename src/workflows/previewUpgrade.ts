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
import { stepActivities } from './activityOptions';
import { describe } from './stops';
import type { Strategy } from './strategy';

/** How long plan's reads retry a target that does not answer: an API request waits for the answer. */
export const PREVIEW_READ_MS = 20_000;

export function createPreviewUpgrade(strategyFor: (kind: UpgradeInput['kind']) => Strategy | undefined) {
  return async function previewUpgrade(input: UpgradeInput): Promise<PlanOutcome> {
    const strategy = strategyFor(input.kind);
    if (!strategy) return { refused: { message: `this worker has no strategy for kind ${input.kind}`, type: 'Misconfigured', reading: false } };
    try {
      const window = { step: 'plan' as const, deadline: Date.now() + PREVIEW_READ_MS };
      const { blue } = await strategy.plan(input, (o) => stepActivities(input, window, o));
      const green = { name: releaseName(input.target, input.version), version: input.version };
      const same = alreadyRuns(input.target, blue, green);
      if (same) return { refused: { message: same, type: 'Invalid', reading: false } };
      const handlers = STEPS.filter((s): s is Step & keyof Strategy => s !== 'plan' && !!strategy[s as keyof Strategy]);
      return {
        blue: { name: blue.name, version: blue.version, replicas: blue.replicas },
        green,
        handled: handlers,
        undone: handlers.filter((s) => !!(strategy[s] as { undo?: unknown }).undo),
        planned: strategy.planned?.() ?? {},
      };
    } catch (err) {
      const { message, type } = describe(err);
      return { refused: { message, ...(type ? { type } : {}), reading: err instanceof ActivityFailure } };
    }
  };
}
