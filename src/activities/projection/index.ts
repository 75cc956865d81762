/**
 * Projection activities: watch a release's processor catch up with the event
 * store (one heartbeating activity for as long as it takes), and create or
 * drop the release's own database and role. The worker resolves where the
 * event store and the databases are (and their credentials) per target when
 * an activity runs; nothing of it enters workflow history.
 */
import { activityInfo, ApplicationFailure, heartbeat, log, sleep } from '@temporalio/activity';
import { Pool } from 'pg';
import {
  describePosition,
  describeProgress,
  isCaughtUp,
  nextProgress,
  PROJECTION_STALLED,
  WATCH_CATCH_UP,
  type CatchUpHeartbeat,
  type CatchUpPolicy,
  type CatchUpProgress,
} from '../../domain/projection/catchUp';
import { DEFAULT_PROCESSOR_TEMPLATE, processorName, releaseDatabaseName } from '../../domain/projection/naming';
import { CatchUpSourceUnsupported, type CatchUpSource } from '../../domain/projection/source';
import { formatDuration } from '../../domain/duration';
import { catchUpReader, type CatchUpReader } from './catchUpReader';
import { withDatabase } from '../pg';
import { dropReleaseDatabase, ensureReleaseDatabase, listReleaseDatabases } from './releaseDatabase';
import type { ReleaseResources } from '../releaseResources';
import type { TargetAccess } from '../targetAccess';

export { releaseRolePassword } from './releaseDatabase';

/** What the worker knows of a projection target, secrets resolved. */
/** A projection target's block with its secrets read, when an activity runs (src/activities/targetAccess.ts). */
export function projectionAccess(targets: TargetAccess): (target: string) => ResolvedProjectionAccess {
  return (target) => {
    const a = targets.block(target, 'projection');
    return {
      catchUp: a.catchUp,
      eventStoreUrl: a.eventStoreUrl && targets.secret(a.eventStoreUrl),
      databasesUrl: targets.secret(a.databasesUrl),
      rolePasswordSecret: targets.secret(a.rolePasswordSecret),
      processorName: a.processorName ?? DEFAULT_PROCESSOR_TEMPLATE,
    };
  };
}

export interface ResolvedProjectionAccess {
  catchUp: CatchUpSource;
  /** Connection string of the event store's database (SQL sources). */
  eventStoreUrl?: string;
  /** Connection string of a role that may create databases and roles on the releases' PostgreSQL. */
  databasesUrl: string;
  /** Secret the release roles' passwords are derived from (HMAC of the release name): the platform derives the same. */
  rolePasswordSecret: string;
  /** A release's processor name, {target} and {release} filled in. */
  processorName: string;
}

export interface ProjectionActivitiesDeps {
  access: (target: string) => ResolvedProjectionAccess;
  /** Connection pools to event stores; default: the factory's own (idle connections let the process exit). */
  pools?: PgPools;
  pollMs?: number;
  /** Wall clock; tests of the arithmetic replace it. */
  now?: () => number;
}

export interface WatchCatchUpInput {
  target: string;
  release: string;
  /** Default: the target's processor name for this release. */
  processor?: string;
  policy: CatchUpPolicy;
  /** Fail the step when the position has not moved for this long while there is lag. */
  stallTimeoutMs: number;
  pollMs?: number;
}



/** A store the preset cannot read, or a setting it contradicts: fails the step at once, naming what to change. */
function unsupported(err: unknown): void {
  if (err instanceof CatchUpSourceUnsupported) throw ApplicationFailure.nonRetryable(err.message, err.name);
}

/** One small pool per event-store URL, opened on first use. */
export class PgPools {
  private readonly pools = new Map<string, Pool>();

  get(url: string): Pool {
    let pool = this.pools.get(url);
    if (!pool) {
      pool = new Pool({ connectionString: url, max: 2, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
      pool.on('error', (err) => log.warn('event store connection lost', { error: err.message }));
      this.pools.set(url, pool);
    }
    return pool;
  }

  async end(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.end()));
  }
}

export function createProjectionActivities(deps: ProjectionActivitiesDeps) {
  const now = deps.now ?? Date.now;
  const pools = deps.pools ?? new PgPools();
  const readerFor = (target: string): CatchUpReader => {
    const a = deps.access(target);
    const url = a.eventStoreUrl;
    return catchUpReader(a.catchUp, { pool: url ? () => pools.get(url) : undefined });
  };
  const processorOf = (i: { target: string; release: string; processor?: string }) =>
    i.processor ?? processorName(deps.access(i.target).processorName, i.target, i.release);

  return {
    /** One reading of the head and the release's slowest segment. */
    async readCatchUp(i: { target: string; release: string; processor?: string }) {
      return readerFor(i.target).read({ release: i.release, processor: processorOf(i) });
    },

    /**
     * Reads the event store once as the catch-up will (plan, before anything changes): a store outside what
     * the preset reads, or a setting it contradicts, fails (not retried) naming the setting. A store that does
     * not answer now is left to the catch-up watch, and the http preset (the service answers) is not read.
     */
    async checkCatchUpSource(i: { target: string; release: string }): Promise<{ checked: boolean; error?: string }> {
      if (deps.access(i.target).catchUp.preset === 'http') return { checked: false };
      try {
        await readerFor(i.target).read({ release: i.release, processor: processorOf(i) });
        return { checked: true };
      } catch (err) {
        unsupported(err);
        return { checked: false, error: (err as Error).message };
      }
    },

    /**
     * Polls until the release's lag has stayed at or below maxLag for holdMs,
     * heartbeating lag, rate, ETA and any stall; fails (not retried) when the
     * position has not moved for stallTimeoutMs. A retry resumes from the last
     * heartbeat, so the stall clock and the smoothed rate survive a worker crash.
     */
    async [WATCH_CATCH_UP](input: WatchCatchUpInput): Promise<CatchUpProgress> {
      const i = { ...input, processor: processorOf(input) };
      const reader = readerFor(i.target);
      const resumed = activityInfo().heartbeatDetails as CatchUpHeartbeat | undefined;
      let progress = resumed?.progress;
      // before the first reading, the stall clock runs from the first attempt
      const since = resumed?.since ?? now();
      for (;;) {
        let error: string | undefined;
        try {
          progress = nextProgress(progress, { at: now(), ...(await reader.read(i)) }, i.policy);
        } catch (err) {
          unsupported(err);
          // a store that does not answer makes no progress either: the stall clock keeps running
          error = (err as Error).message;
          log.warn('catch-up read failed', { target: i.target, release: i.release, error });
        }
        const summary = progress ? describeProgress(progress) : `no reading yet: ${error}`;
        heartbeat({ progress, summary, error, since } satisfies CatchUpHeartbeat);
        if (progress && isCaughtUp(progress, i.policy)) return progress;
        const lastProgressAt = progress?.lastProgressAt ?? since;
        const stuck = error !== undefined || progress?.stalledSince !== undefined;
        if (stuck && now() - lastProgressAt >= i.stallTimeoutMs) {
          throw ApplicationFailure.nonRetryable(
            `${i.release}'s processor ${i.processor} made no progress since ${new Date(lastProgressAt).toISOString()} ` +
              `(${formatDuration(i.stallTimeoutMs)} allowed): ${progress ? describePosition(progress) : summary}${error && progress ? `; last read error: ${error}` : ''}`,
            PROJECTION_STALLED,
            progress,
          );
        }
        await sleep(i.pollMs ?? deps.pollMs ?? 5000);
      }
    },

    /**
     * The release's own database and a role that owns it (create if absent).
     * With an owner (the upgrade's id): recorded on them, a database or role of
     * that name that is not the target's fails before anything changes, and
     * `adopt` (blue, which serves) is first taken as the target's.
     */
    async ensureReleaseDatabase(i: { target: string; release: string; owner?: string; adopt?: string }): Promise<{ database: string; role: string; created: boolean }> {
      const a = deps.access(i.target);
      const owned = i.owner ? { owner: { target: i.target, upgrade: i.owner }, release: i.release, adopt: i.adopt && releaseDatabaseName(i.adopt) } : {};
      return withDatabase(a.databasesUrl, `creating the database of ${i.release}`, (c) => ensureReleaseDatabase(c, releaseDatabaseName(i.release), a.rolePasswordSecret, owned));
    },

    /** Drops the release's database (closing its connections) and its role; nothing to drop is fine; with an owner, another's stays (`left`). */
    async dropReleaseDatabase(i: { target: string; release: string; owner?: string }): Promise<{ database: string; dropped: boolean; left?: string }> {
      return withDatabase(deps.access(i.target).databasesUrl, `dropping the database of ${i.release}`, (c) => dropReleaseDatabase(c, releaseDatabaseName(i.release), i.owner && i.target));
    },
  };
}

export type ProjectionActivities = ReturnType<typeof createProjectionActivities>;

/** A projection release's database and role beside its workload: listed with their owner, removed with an orphan release. */
export function projectionReleaseResources(access: (target: string) => ResolvedProjectionAccess): ReleaseResources {
  return {
    list: (target, releases) =>
      withDatabase(access(target).databasesUrl, `listing the release databases of ${target}`, (c) => listReleaseDatabases(c, target, releases.map((name) => ({ name, database: releaseDatabaseName(name) })))),
    async remove({ target, release }) {
      const r = await withDatabase(access(target).databasesUrl, `dropping the database of ${release}`, (c) => dropReleaseDatabase(c, releaseDatabaseName(release), target));
      return r.left ? { removed: [], left: [r.left] } : { removed: r.dropped ? [`database ${r.database}`] : [], left: [] };
    },
  };
}
