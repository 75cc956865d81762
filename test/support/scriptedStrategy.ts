/**
 * A strategy made of scripted effects: each step applies one named effect
 * through an activity of ScriptedWorld, and registers its undo. Tests decide
 * which step fails, hangs or waits.
 */
import type { StepHandler, Strategy, StrategyContext } from '../../src/workflows/strategy';
import { call, stepActivities } from '../../src/workflows/activityOptions';
import type { ScriptedActivities } from './scriptedWorld';
import type { Step } from '../../src/domain/upgrade';

const acts = (ctx: Pick<StrategyContext, 'input'>) =>
  stepActivities<ScriptedActivities>(ctx.input, { startToCloseTimeout: '1 hour', heartbeatTimeout: '2 seconds' });

function effect(step: Step, reversible: boolean): StepHandler {
  const apply = (ctx: StrategyContext, action: 'do' | 'undo') =>
    call(acts(ctx).applyEffect, `${action} ${step} for ${ctx.green.name}`, { target: ctx.input.target, step, action });
  return reversible ? { run: (ctx) => apply(ctx, 'do'), undo: (ctx) => apply(ctx, 'undo') } : { run: (ctx) => apply(ctx, 'do') };
}

export const scriptedStrategy: Strategy = {
  plan: async (input) => ({
    blue: await call(acts({ input }).readTarget, `read ${input.target}`, { target: input.target }),
  }),
  prepare: effect('prepare', true),
  deployGreen: effect('deployGreen', true),
  waitReady: effect('waitReady', false),
  verify: effect('verify', false),
  promote: {
    run: async (ctx) => {
      ctx.setTraffic({ blue: 50, green: 50 });
      await effect('promote', true).run(ctx);
    },
    undo: effect('promote', true).undo,
  },
  drainBlue: effect('drainBlue', true),
  finalize: effect('finalize', false),
  cleanUpBlue: effect('cleanUpBlue', false),
};
