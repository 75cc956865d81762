/**
 * Kong: the blue-green upgrade of Kong's own guide, step by step.
 *   1. stop Admin API writes              prepare: the freeze router answers 423, a fingerprint of the configuration
 *   2. back up the database               prepare: pg_dump, its path and size in the state
 *   3. `kong migrations up` with Y        prepare: confirmed with `list` (the lock trap exits 0 without migrating)
 *   4. start cluster Y on the database    deployGreen (the skeleton's)
 *   5. test Y                             waitReady (/status/ready of every node) and verify (the user's smoke requests)
 *   6. divert traffic gradually           promote: the skeleton's traffic plan (default 10%, 50%, 100%)
 *   7. watch the proxy metrics            its analysis between steps (error rate, p99 from the gateways' counters)
 *   8. if anything is wrong, back to X    rollback: traffic to X, Y removed, writes unfrozen, migrations left pending
 *   9. `kong migrations finish`           finalize, after a person's yes: the point of no return
 *  10. decommission X                     cleanUpBlue: drain X by its version (POST /status/ready from 3.9, then its
 *                                        connections fall), remove it, unfreeze writes
 * plan refuses, before anything changes, a blue or green outside Kong 3.4 to
 * 3.9 and a downgrade. A write that bypasses the freeze changes the
 * fingerprint, checked at verify and before finalize: the upgrade then waits
 * for a person to approve or roll back.
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { KongActivities, MigrationRecord } from '../../activities/kong';
import { formatDuration } from '../../domain/duration';
import { planMigrations, type MigrationPlan } from '../../domain/kong/migrations';
import { kongDowngradeProblem, kongFeatures, kongVersionProblem, parseKongVersion } from '../../domain/kong/versions';
import type { PlatformActivities } from '../../domain/platform';
import { upgradeIdOf } from '../../domain/upgrade';
import { callActivity } from '../activityOptions';
import type { Strategy, StrategyContext } from '../strategy';

/** What the Kong strategy learns, step by step. */
export interface KongFacts {
  blueReplicas: number;
  plan: MigrationPlan;
  /** The configuration's fingerprint once Admin API writes froze (or as a person approved it since). */
  fingerprint?: string;
  migrations: MigrationRecord[];
}

type Ctx = StrategyContext<'kong', KongFacts>;
type Acts = PlatformActivities & KongActivities;

const upgradeId = (ctx: Ctx) => upgradeIdOf(ctx.input.target, workflowInfo().runId);

const migrate = async (ctx: Ctx, version: string, command: 'up' | 'finish'): Promise<void> => {
  ctx.waitingFor(`kong migrations ${command} with Kong ${version}`);
  const record = await callActivity(ctx.longWaits<Acts>().runKongMigrations, `kong migrations ${command} (Kong ${version}), then list`, { target: ctx.input.target, version, command, blue: ctx.blue.name });
  const migrations = [...ctx.facts.migrations, record];
  ctx.learn({ migrations });
  ctx.report('migrations', migrations);
};

/** Admin API writes that bypassed the freeze change what both versions serve: a person decides. */
const checkFingerprint = async (ctx: Ctx, before: string): Promise<void> => {
  const { fingerprint } = ctx.facts;
  if (!fingerprint) return;
  const now = await callActivity(ctx.activities<Acts>().kongConfigFingerprint, 'check the configuration is unchanged', { target: ctx.input.target });
  if (now.fingerprint === fingerprint) return;
  ctx.report('configurationChanged', { expected: fingerprint, found: now.fingerprint, rows: now.rows, before });
  await ctx.askApproval(
    before,
    `the Kong configuration changed during the upgrade (fingerprint ${fingerprint} -> ${now.fingerprint}): an Admin API write bypassed the freeze; approve to go on with it, or roll back`,
  );
  ctx.learn({ fingerprint: now.fingerprint });
  ctx.report('adminApi', { frozen: true, fingerprint: now.fingerprint });
};

const unfreeze = async (ctx: Ctx): Promise<void> => {
  await callActivity(ctx.activities<Acts>().unfreezeKongAdmin, 'unfreeze Admin API writes', { target: ctx.input.target, upgradeId: upgradeId(ctx) });
  ctx.report('adminApi', { frozen: false });
};

export const kongStrategy: Strategy<'kong', KongFacts> = {
  async plan({ input, blue, activities }) {
    const { target } = input;
    // The version blue runs is its image tag on Kubernetes, the sandbox's locally.
    const green = kongVersionProblem(input.version, 'green');
    const unsupported = (green && `version ${green}`) ?? kongVersionProblem(blue.version, 'blue') ?? kongDowngradeProblem(blue.version, input.version);
    if (unsupported) throw ApplicationFailure.nonRetryable(unsupported, 'Unsupported');
    const state = await callActivity(activities<Acts>().readKongMigrations, `kong migrations status with Kong ${blue.version} and ${input.version}`, {
      target,
      blueVersion: blue.version,
      greenVersion: input.version,
      blue: blue.name,
    });
    const plan = planMigrations(state.blue, state.green, { finishPending: input.settings.kong.finishPending, blueVersion: blue.version, greenVersion: input.version });
    // Refused before anything changes.
    if (plan.action === 'refuse') throw ApplicationFailure.nonRetryable(plan.reason, 'PendingMigrations');
    return { blueReplicas: blue.replicas, plan, migrations: [] };
  },

  planned: (facts) => ({ migrations: facts.plan }),

  prepare: {
    run: async (ctx) => {
      const { target } = ctx.input;
      const { plan } = ctx.facts;
      ctx.report('migrationPlan', plan);
      const frozen = await callActivity(ctx.activities<Acts>().freezeKongAdmin, 'freeze Admin API writes', { target, upgradeId: upgradeId(ctx), reason: `upgrade to Kong ${ctx.input.version}` });
      const { fingerprint } = await callActivity(ctx.activities<Acts>().kongConfigFingerprint, 'fingerprint the configuration', { target });
      ctx.learn({ fingerprint });
      ctx.report('adminApi', { frozen: true, since: frozen.since, fingerprint });
      if (ctx.input.settings.kong.backup) {
        ctx.waitingFor('pg_dump of the Kong database');
        ctx.report('backup', await callActivity(ctx.longWaits<Acts>().backupKongDatabase, 'back up the Kong database (pg_dump)', { target, upgradeId: upgradeId(ctx) }));
      }
      if (plan.action === 'finishEarlier') await migrate(ctx, ctx.blue.version, 'finish');
      if (plan.action === 'up' || (plan.action === 'finishEarlier' && plan.then.length)) await migrate(ctx, ctx.green.version, 'up');
    },
    // The migrations stay pending: X still serves from them, and a later upgrade recognises them.
    undo: unfreeze,
  },

  async waitReady(ctx, workloadReady) {
    await workloadReady();
    ctx.waitingFor(`/status/ready of every node of ${ctx.green.name}`);
    ctx.report(
      'greenReadiness',
      await callActivity(ctx.longWaits<Acts>().waitKongNodesReady, `wait for /status/ready of ${ctx.green.name}`, {
        target: ctx.input.target,
        release: ctx.green.name,
        replicas: ctx.facts.blueReplicas,
        version: ctx.green.version,
      }),
    );
  },

  verify: {
    run: async (ctx) => {
      await checkFingerprint(ctx, 'verify');
      const { smoke } = ctx.input.settings.kong;
      if (!smoke.length) return;
      ctx.report('smoke', await callActivity(ctx.activities<Acts>().smokeKong, `${smoke.length} smoke requests through ${ctx.green.name}`, { target: ctx.input.target, release: ctx.green.name, requests: smoke }));
    },
  },

  finalize: {
    run: async (ctx) => {
      await checkFingerprint(ctx, 'finalize');
      const { plan } = ctx.facts;
      if (plan.action === 'none' || (plan.action === 'finishEarlier' && !plan.then.length)) return;
      // The point of no return: after this, Kong X cannot use the database.
      await migrate(ctx, ctx.green.version, 'finish');
    },
  },

  async cleanUpBlue(ctx, remove) {
    const { version } = ctx.blue;
    const { drainTimeoutMs } = ctx.input.settings.kong;
    // Kong before 3.9 has no draining call (405): its nodes are out of the router since promote
    const how = kongFeatures(parseKongVersion(version)!).postDraining ? 'POST /status/ready draining' : 'out of the router, no draining before Kong 3.9';
    ctx.waitingFor(`the requests on ${ctx.blue.name}'s nodes to end (${how}; at most ${formatDuration(drainTimeoutMs)})`);
    const drained = await callActivity(ctx.longWaits<Acts>().drainKongNodes, `drain ${ctx.blue.name} (Kong ${version}: ${how}), then its requests end`, {
      target: ctx.input.target,
      release: ctx.blue.name,
      version,
      timeoutMs: drainTimeoutMs,
    });
    ctx.report('drained', drained.drained);
    await remove();
    await unfreeze(ctx);
  },
};
