/**
 * A strategy made of scripted effects: each step applies one named effect
 * through an activity of ScriptedWorld, and registers its undo; the
 * workload's life too (ScriptedWorld stands in for the platform). Tests
 * decide which step fails, hangs or waits.
 */
import type { StepHandler, Strategy, StrategyContext } from '../../src/workflows/strategy';
import { callActivity, type ProxyOptions } from '../../src/workflows/activityOptions';
import type { ScriptedActivities } from './scriptedWorld';
import type { Step } from '../../src/domain/upgrade';

const LONG: ProxyOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout: '2 seconds' };
/** verify waits as the kinds' long waits do: a heartbeat timeout of a minute. */
const SLOW_BEAT: ProxyOptions = { ...LONG, heartbeatTimeout: '1 minute' };

const apply = (ctx: StrategyContext, step: Step, action: 'do' | 'undo', options = LONG) =>
  callActivity(ctx.longWaits<ScriptedActivities>(options).applyEffect, `${action} ${step} for ${ctx.green.name}`, { target: ctx.input.target, step, action });

function effect(step: Step, reversible: boolean, options = LONG): StepHandler {
  return reversible ? { run: (ctx) => apply(ctx, step, 'do', options), undo: (ctx) => apply(ctx, step, 'undo', options) } : { run: (ctx) => apply(ctx, step, 'do', options) };
}

export const scriptedStrategy: Strategy = {
  workload: {
    readBlue: ({ input, longWaits }) => callActivity(longWaits<ScriptedActivities>(LONG).readTarget, `read ${input.target}`, { target: input.target }),
    createGreen: (ctx) => apply(ctx, 'deployGreen', 'do'),
    removeGreen: (ctx) => apply(ctx, 'deployGreen', 'undo'),
    waitGreen: (ctx) => apply(ctx, 'waitReady', 'do'),
    removeBlue: (ctx) => apply(ctx, 'cleanUpBlue', 'do'),
  },
  plan: async () => ({}),
  prepare: effect('prepare', true),
  verify: effect('verify', false, SLOW_BEAT),
  promote: effect('promote', true),
  drainBlue: effect('drainBlue', true),
  finalize: effect('finalize', false),
};
