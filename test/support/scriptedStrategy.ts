/**
 * A strategy made of scripted effects: each step applies one named effect
 * through an activity of ScriptedWorld, and registers its undo. Tests decide
 * which step fails, hangs or waits.
 */
import type { StepHandler, Strategy, StrategyContext } from '../../src/workflows/strategy';
import { call, type ProxyOptions } from '../../src/workflows/activityOptions';
import type { ScriptedActivities } from './scriptedWorld';
import type { Step } from '../../src/domain/upgrade';

const LONG: ProxyOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout: '2 seconds' };
/** verify waits as the kinds' long waits do: a heartbeat timeout of a minute. */
const SLOW_BEAT: ProxyOptions = { ...LONG, heartbeatTimeout: '1 minute' };

function effect(step: Step, reversible: boolean, options = LONG): StepHandler {
  const apply = (ctx: StrategyContext, action: 'do' | 'undo') =>
    call(ctx.activities<ScriptedActivities>(options).applyEffect, `${action} ${step} for ${ctx.green.name}`, { target: ctx.input.target, step, action });
  return reversible ? { run: (ctx) => apply(ctx, 'do'), undo: (ctx) => apply(ctx, 'undo') } : { run: (ctx) => apply(ctx, 'do') };
}

export const scriptedStrategy: Strategy = {
  plan: async (input, activities) => ({
    blue: await call(activities<ScriptedActivities>(LONG).readTarget, `read ${input.target}`, { target: input.target }),
  }),
  prepare: effect('prepare', true),
  deployGreen: effect('deployGreen', true),
  waitReady: effect('waitReady', false),
  verify: effect('verify', false, SLOW_BEAT),
  promote: effect('promote', true),
  drainBlue: effect('drainBlue', true),
  finalize: effect('finalize', false),
  cleanUpBlue: effect('cleanUpBlue', false),
};
