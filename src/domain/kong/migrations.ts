/**
 * Kong's migrations as cutover reads them (pure): the commands, what `list`'s
 * exit code means, and the decision at plan, made from what `status` says
 * with blue's version and with green's. A migration pending that blue's
 * version knows was left by an earlier upgrade whose `finish` never ran; one
 * that only green knows was run by this upgrade's earlier attempt.
 */

export const MIGRATIONS_COMMANDS = ['bootstrap', 'up', 'finish', 'list', 'status'] as const;
export type MigrationsCommand = (typeof MIGRATIONS_COMMANDS)[number];

/** `kong migrations status` (3.0+). */
export interface SchemaState {
  needs_bootstrap: boolean;
  executed_migrations: string[];
  pending_migrations: string[];
  /** Executed or pending in the database but unknown to the version that ran the command. */
  missing_migrations: string[];
  new_migrations: string[];
}

/** `kong migrations list` exit codes (kong/cmd/migrations.lua). */
export const LIST_EXIT = { upToDate: 0, error: 1, needsBootstrap: 3, pending: 4, newAvailable: 5 } as const;

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
  | { action: 'finishEarlier'; earlier: string[]; then: string[] }
  /** Run `up` for these. */
  | { action: 'up'; migrations: string[] }
  /** This upgrade's `up` ran already (an earlier attempt): not run twice. */
  | { action: 'alreadyUp'; migrations: string[] }
  /** Green brings no migrations (a patch release). */
  | { action: 'none' };

export function planMigrations(blue: SchemaState, green: SchemaState, o: { finishPending: boolean; blueVersion: string }): MigrationPlan {
  if (green.needs_bootstrap) return { action: 'refuse', reason: "the database is not bootstrapped: run 'kong migrations bootstrap' first" };
  if (green.missing_migrations.length) {
    return { action: 'refuse', reason: `the database has migrations the new version does not know (${green.missing_migrations.join(', ')}): it is newer than the upgrade's version` };
  }
  const earlier = green.pending_migrations.filter((m) => !blue.missing_migrations.includes(m));
  const ours = green.pending_migrations.filter((m) => blue.missing_migrations.includes(m));
  if (earlier.length) {
    if (!o.finishPending) {
      return {
        action: 'refuse',
        reason:
          `migrations ${earlier.join(', ')} are pending from an earlier upgrade whose 'kong migrations finish' never ran; ` +
          `run 'kong migrations finish' with Kong ${o.blueVersion} once no older node uses the database, or start this upgrade with options.kong.finishPending: true`,
      };
    }
    return { action: 'finishEarlier', earlier, then: green.new_migrations };
  }
  if (ours.length && green.new_migrations.length) {
    return {
      action: 'refuse',
      reason:
        `migrations ${ours.join(', ')} are pending from an earlier attempt that was rolled back, and ${green.new_migrations.join(', ')} are new: ` +
        `Kong runs 'up' again only after 'finish', which would break Kong ${o.blueVersion} that serves now; upgrade to the version that ran 'up' first`,
    };
  }
  if (green.new_migrations.length) return { action: 'up', migrations: green.new_migrations };
  if (ours.length) return { action: 'alreadyUp', migrations: ours };
  return { action: 'none' };
}

/** The last lines of a command's output kept in the state. */
export const tail = (lines: string[], n = 20): string[] => lines.slice(-n);
