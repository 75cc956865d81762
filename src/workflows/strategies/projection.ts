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
import type { PlatformActivities } from '../../domain/platform';
import { humanDuration } from '../../domain/duration';
import { callActivity } from '../activityOptions';
import type { Strategy, StrategyContext } from '../strategy';

type Acts = PlatformActivities & ProjectionActivities;

/** plan reads the event store once as the catch-up will (upgrades started before read nothing at plan). */
const PLAN_READS_CATCH_UP = 'projection-plan-reads-catch-up';

/** How long a release's phase takes to reach the service through the long poll, with margin. */
const SWITCH_DRAIN_MS = 2000;

/** The projection strategy learns nothing it passes on: each step reads the settings and the releases. */
export const projectionStrategy: Strategy<'projection'> = {
  async plan({ input, blue, activities }) {
    if (patched(PLAN_READS_CATCH_UP)) {
      // a store outside what the preset reads, or a setting it contradicts (an oid token column read as
      // bytea), fails here, naming the setting, before anything changes
      await callActivity(activities<Acts>().checkCatchUpSource, `read the event store as ${blue.name}'s catch-up would`, { target: input.target, release: blue.name });
    }
    return {};
  },

  prepare: {
    run: async (ctx) => {
      // blue's database is the serving release's: taken as the target's (adopted) before green's is made
      await callActivity(ctx.activities<Acts>().ensureReleaseDatabase, `create the database and role of ${ctx.green.name}`, {
        target: ctx.input.target,
        release: ctx.green.name,
        owner: ctx.owner,
        adopt: ctx.blue.name,
      });
    },
    undo: (ctx) => dropDatabase(ctx, ctx.green.name),
  },

  /** One instance with its own processor and database, beside blue. */
  deployGreen: (_ctx, create) => create({ replicas: GREEN_REPLICAS }),

  async removeGreen(ctx, remove) {
    // queries routed to green just before traffic went back are still answered while blue learns it serves again
    await sleep(SWITCH_DRAIN_MS, { summary: `let ${ctx.green.name} answer what was routed to it` });
    await remove();
  },

  async waitReady(ctx, workloadReady) {
    const release = ctx.green.name;
    await workloadReady();
    ctx.waitingFor(`${release}'s processor to catch up with the event store (lag, rate and ETA under details.catchUp)`);
    const { maxLag, holdMs, stallAfterMs, stallTimeoutMs, pollMs } = ctx.input.settings.projection;
    // The catch-up may take hours: one activity that heartbeats, so its history is a handful of events and a
    // rollback cancels it at once. The SDK sends heartbeats at 80% of this timeout at most: short, so the API
    // shows fresh lag and ETA (heartbeats add nothing to the history).
    const watch = ctx.longWaits<Acts>({ startToCloseTimeout: '7 days', heartbeatTimeout: Math.max(5000, 3 * pollMs) });
    const done = await callActivity(watch.watchCatchUp, `watch ${release} catch up (lag <= ${maxLag} for ${humanDuration(holdMs)})`, {
      target: ctx.input.target,
      release,
      policy: { maxLag, holdMs, stallAfterMs, smoothingMs: 10 * pollMs },
      stallTimeoutMs,
      pollMs,
    });
    ctx.report('catchUp', { ...done, summary: describeProgress(done) });
  },

  async cleanUpBlue(ctx, remove) {
    // blue is CLEANING_UP now: it stops processing; its read model goes only after the standby window
    await remove();
    await dropDatabase(ctx, ctx.blue.name);
  },
};

async function dropDatabase(ctx: StrategyContext<'projection'>, release: string): Promise<void> {
  await callActivity(ctx.activities<Acts>().dropReleaseDatabase, `drop the database of ${release}`, { target: ctx.input.target, release, owner: ctx.owner });
}
