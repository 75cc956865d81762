/**
 * Kong's migrations as cutover reads them (pure): the commands, what `list`'s
 * exit code means, and the decision at plan, made by subsystem and migration
 * name from what `status` prints with blue's version and with green's. A
 * version lists only the migrations it knows (kong/db/migrations/state.lua),
 * so a migration pending that blue lists pending too was left by an earlier
 * upgrade whose `finish` never ran; one that only green lists was run by this
 * upgrade's earlier attempt.
 */
import type { MigrationsStatus } from './answers';

export const MIGRATIONS_COMMANDS = ['bootstrap', 'up', 'finish', 'list', 'status'] as const;
export type MigrationsCommand = (typeof MIGRATIONS_COMMANDS)[number];

/** Migrations by subsystem (core, or a plugin's name), as Kong groups them. */
export interface SubsystemMigrations {
  subsystem: string;
  migrations: string[];
}

/** `kong migrations list` exit codes (kong/cmd/migrations.lua). */
export const LIST_EXIT = { upToDate: 0, error: 1, needsBootstrap: 3, pending: 4, newAvailable: 5 } as const;

/** What `list` exits with for the state `status` prints (kong/cmd/migrations.lua, list branch). */
export function listExitOf(s: MigrationsStatus): number {
  if (s.needs_bootstrap) return LIST_EXIT.needsBootstrap;
  if (s.pending_migrations) return LIST_EXIT.pending;
  return s.new_migrations ? LIST_EXIT.newAvailable : LIST_EXIT.upToDate;
}

export function listMeaning(exitCode: number): string {
  switch (exitCode) {
    case LIST_EXIT.upToDate:
      return 'up to date';
    case LIST_EXIT.needsBootstrap:
      return 'needs bootstrap';
    case LIST_EXIT.pending:
      return "pending: 'up' ran, 'finish' did not";
    case LIST_EXIT.newAvailable:
      return 'new migrations available';
    default:
      return `error (exit ${exitCode})`;
  }
}

export type MigrationPlan =
  /** Nothing changes; the reason names the command that resolves it. */
  | { action: 'refuse'; reason: string }
  /** An earlier upgrade's pending migrations are finished with blue's version first (option finishPending). */
  | { action: 'finishEarlier'; earlier: SubsystemMigrations[]; then: SubsystemMigrations[] }
  /** Run `up` for these. */
  | { action: 'up'; migrations: SubsystemMigrations[] }
  /** This upgrade's `up` ran already (an earlier attempt): not run twice. */
  | { action: 'alreadyUp'; migrations: SubsystemMigrations[] }
  /** Green brings no migrations (most patch releases). */
  | { action: 'none' };

type Listed = NonNullable<MigrationsStatus['missing_migrations' | 'pending_migrations']>;

/** A list of `status` as names by subsystem, keeping those `keep` says (a missing migration is printed whole: its name). */
function byName(list: Listed | undefined, keep: (subsystem: string, name: string) => boolean = () => true): SubsystemMigrations[] {
  return (list ?? [])
    .map((s) => ({ subsystem: s.subsystem, migrations: s.migrations.map((m) => (typeof m === 'string' ? m : m.name)).filter((m) => keep(s.subsystem, m)) }))
    .filter((s) => s.migrations.length > 0);
}

/** "core 024_380_to_390, ai-proxy 001_360_to_370" */
export const formatMigrations = (list: SubsystemMigrations[]): string => list.map((s) => `${s.subsystem} ${s.migrations.join(' ')}`).join(', ');

export function planMigrations(blue: MigrationsStatus, green: MigrationsStatus, o: { finishPending: boolean; blueVersion: string; greenVersion: string }): MigrationPlan {
  if (green.needs_bootstrap) return { action: 'refuse', reason: "the database is not bootstrapped: run 'kong migrations bootstrap' first" };
  const missing = byName(green.missing_migrations);
  if (missing.length) {
    return {
      action: 'refuse',
      reason:
        `'kong migrations status' with Kong ${o.greenVersion} lists migrations as missing (${formatMigrations(missing)}): the database's schema_meta no longer records ` +
        "what its last_executed names, and Kong's 'up' never runs a missing migration; check the database (a partial restore?) before upgrading",
    };
  }
  const bluePending = new Set(byName(blue.pending_migrations).flatMap((s) => s.migrations.map((m) => `${s.subsystem}\0${m}`)));
  const earlier = byName(green.pending_migrations, (s, m) => bluePending.has(`${s}\0${m}`));
  const ours = byName(green.pending_migrations, (s, m) => !bluePending.has(`${s}\0${m}`));
  const fresh = byName(green.new_migrations);
  if (earlier.length) {
    if (!o.finishPending) {
      return {
        action: 'refuse',
        reason:
          `migrations ${formatMigrations(earlier)} are pending from an earlier upgrade whose 'kong migrations finish' never ran; ` +
          `run 'kong migrations finish' with Kong ${o.blueVersion} once no older node uses the database, or start this upgrade with options.kong.finishPending: true`,
      };
    }
    return { action: 'finishEarlier', earlier, then: fresh };
  }
  if (ours.length && fresh.length) {
    return {
      action: 'refuse',
      reason:
        `migrations ${formatMigrations(ours)} are pending from an earlier attempt that was rolled back, and ${formatMigrations(fresh)} are new: ` +
        `Kong runs 'up' again only after 'finish', which would break Kong ${o.blueVersion} that serves now; upgrade to the version that ran 'up' first`,
    };
  }
  if (fresh.length) return { action: 'up', migrations: fresh };
  if (ours.length) return { action: 'alreadyUp', migrations: ours };
  return { action: 'none' };
}

/** The last lines of a command's output kept in the state. */
export const tail = (lines: string[], n = 20): string[] => lines.slice(-n);
