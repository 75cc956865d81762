/**
 * Event-sourced service, as its operators' runbook goes: green gets its own
 * database and its own event-processor name and starts in INITIALISING,
 * replaying the event store from the start while blue keeps serving; once
 * its processor has caught up with the head (and the service has reported
 * ready, the skeleton's waitForReadyReport) queries move to green, and blue
 * stands by, still processing, so a rollback finds it current. After the
 * standby window blue is removed and only then its database dropped.
 */
import { patched, sleep } from '@temporalio/workflow';
import type { ProjectionActivities } from '../../activities/projection';
import { describeProgress } from '../../domain/projection/catchUp';
import { GREEN_REPLICAS } from '../../domain/projection/preview';
import type { ProjectionSettings } from '../../domain/projection/settings';
import type { PlatformActivities } from '../../domain/platform';
import { humanDuration } from '../../domain/duration';
import { call } from '../activityOptions';
import type { Strategy, StrategyContext } from '../strategy';

type Activities = PlatformActivities & ProjectionActivities;

/** plan reads the event store once as the catch-up will (upgrades started before read nothing at plan). */
const PLAN_READS_CATCH_UP = 'projection-plan-reads-catch-up';

/** How long a release's phase takes to reach the service through the long poll, with margin. */
const SWITCH_DRAIN_MS = 2000;

export function createProjectionStrategy(): Strategy<'projection'> {
  let settings: ProjectionSettings;

  const quick = (ctx: StrategyContext) => ctx.activities<Activities>();
  // The catch-up may take hours: one activity that heartbeats, so its history is a handful of events
  // and a rollback cancels it at once.
  const waits = (ctx: StrategyContext) => ctx.activities<Activities>({ startToCloseTimeout: '7 days', heartbeatTimeout: '1 minute' });

  return {
    async plan(input, activities) {
      settings = input.settings.projection;
      const acts = activities<Activities>();
      const blue = await call(acts.readBlueRelease, `read the release serving ${input.target}`, { target: input.target });
      if (patched(PLAN_READS_CATCH_UP)) {
        // a store outside what the preset reads, or a setting it contradicts (an oid token column read as
        // bytea), fails here, naming the setting, before anything changes
        await call(acts.checkCatchUpSource, `read the event store as ${blue.name}'s catch-up would`, { target: input.target, release: blue.name });
      }
      return { blue };
    },

    prepare: {
      run: async (ctx) => {
        const { target } = ctx.input;
        // blue's database is the serving release's: taken as the target's (adopted) before green's is made
        await call(quick(ctx).ensureReleaseDatabase, `create the database and role of ${ctx.green.name}`, { target, release: ctx.green.name, owner: ctx.owner, adopt: ctx.blue.name });
      },
      undo: async (ctx) => {
        await call(quick(ctx).dropReleaseDatabase, `drop the database of ${ctx.green.name}`, { target: ctx.input.target, release: ctx.green.name, owner: ctx.owner });
      },
    },

    deployGreen: {
      run: async (ctx) => {
        const { target, image } = ctx.input;
        await call(quick(ctx).ensureGreenWorkload, `start ${ctx.green.name} (own processor and database) beside ${ctx.blue.name}`, {
          target,
          green: ctx.green,
          image,
          replicas: GREEN_REPLICAS,
          owner: ctx.owner,
        });
      },
      undo: async (ctx) => {
        // queries routed to green just before traffic went back are still answered while blue learns it serves again
        await sleep(SWITCH_DRAIN_MS, { summary: `let ${ctx.green.name} answer what was routed to it` });
        await call(quick(ctx).deleteWorkload, `stop ${ctx.green.name}`, { target: ctx.input.target, release: ctx.green.name, owner: ctx.owner });
      },
    },

    waitReady: {
      run: async (ctx) => {
        const { target } = ctx.input;
        const release = ctx.green.name;
        ctx.waitingFor(`${release} to start`);
        await call(waits(ctx).waitWorkloadReady, `wait for ${release} to run`, { target, release });
        ctx.waitingFor(`${release}'s processor to catch up with the event store (lag, rate and ETA under details.catchUp)`);
        const { maxLag, holdMs, stallAfterMs, stallTimeoutMs, pollMs } = settings;
        // The SDK sends heartbeats at 80% of this timeout at most: short, so the API shows fresh lag and ETA
        // (heartbeats add nothing to the history)
        const watch = ctx.activities<Activities>({ startToCloseTimeout: '7 days', heartbeatTimeout: Math.max(5000, 3 * pollMs) });
        const done = await call(watch.watchCatchUp, `watch ${release} catch up (lag <= ${maxLag} for ${humanDuration(holdMs)})`, {
          target,
          release,
          policy: { maxLag, holdMs, stallAfterMs, smoothingMs: 10 * pollMs },
          stallTimeoutMs,
          pollMs,
        });
        ctx.report('catchUp', { ...done, summary: describeProgress(done) });
      },
    },

    cleanUpBlue: {
      run: async (ctx) => {
        const { target } = ctx.input;
        // blue is CLEANING_UP now: it stops processing; its read model goes only after the standby window
        await call(quick(ctx).deleteWorkload, `stop ${ctx.blue.name}`, { target, release: ctx.blue.name, owner: ctx.owner });
        await call(quick(ctx).dropReleaseDatabase, `drop the database of ${ctx.blue.name}`, { target, release: ctx.blue.name, owner: ctx.owner });
      },
    },
  };
}
