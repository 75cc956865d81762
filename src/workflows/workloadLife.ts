/**
 * The workload's life, the skeleton's for every kind: read blue, create
 * green beside it (its removal registered before as the undo), wait for
 * every pod of it, remove blue; through the platform port (Kubernetes or the
 * local sandbox), whatever the kind.
 */
import type { PlatformActivities } from '../domain/platform';
import { callActivity } from './activityOptions';
import type { Calls, WorkloadLife } from './strategy';

const platform = (ctx: Calls) => ctx.activities<PlatformActivities>();

export const platformWorkload: WorkloadLife = {
  readBlue: ({ input, activities }, env) =>
    callActivity(activities<PlatformActivities>().readBlueRelease, `read the release serving ${input.target}`, { target: input.target, ...(env ? { env } : {}) }),

  async createGreen(ctx, { replicas, env }) {
    await callActivity(platform(ctx).ensureGreenWorkload, `create ${ctx.green.name} beside ${ctx.blue.name}`, {
      target: ctx.input.target,
      green: ctx.green,
      image: ctx.input.image,
      replicas,
      ...(env ? { env } : {}),
      owner: ctx.owner,
    });
  },

  async removeGreen(ctx) {
    await callActivity(platform(ctx).deleteWorkload, `delete ${ctx.green.name}`, { target: ctx.input.target, release: ctx.green.name, owner: ctx.owner });
  },

  async waitGreen(ctx) {
    ctx.waitingFor(`every pod of ${ctx.green.name} to be ready`);
    await callActivity(ctx.longWaits<PlatformActivities>().waitWorkloadReady, `wait for ${ctx.green.name} pods to be ready`, { target: ctx.input.target, release: ctx.green.name });
  },

  async removeBlue(ctx) {
    await callActivity(platform(ctx).deleteWorkload, `delete ${ctx.blue.name}`, { target: ctx.input.target, release: ctx.blue.name, owner: ctx.owner });
  },
};
