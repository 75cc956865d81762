/**
 * The sandbox gateway's `migrations bootstrap|up|finish|list|status`, with
 * Kong's behaviour where cutover can tell (kong/cmd/migrations.lua,
 * kong/cmd/utils/migrations.lua, kong/db/migrations/state.lua):
 * `status` prints State.load's state (lists by subsystem of the migrations
 * this version knows, each left out when empty); list exits 0 up to date,
 * 3 needs bootstrap, 4 pending, 5 new migrations, 1 on an error; `up`
 * refuses while migrations are pending unless forced; `bootstrap`, `up` and
 * `finish` take the cluster lock "migrations": when another node holds it,
 * `up` waits for it, `bootstrap` and `finish` do not (no_wait), and each logs
 * "aborted: another node is performing database changes" and exits 0
 * without migrating.
 */
import { randomUUID } from 'node:crypto';
import type { ClientBase } from 'pg';
import type { MigrationsStatus } from '../../domain/kong/answers';
import { listExitOf, type MigrationsCommand } from '../../domain/kong/migrations';
import { META_DDL, type GatewayVersion, type Migration } from './schema';

export const NOT_LEADER_MSG = 'aborted: another node is performing database changes';

export interface CommandResult {
  exitCode: number;
  /** What the command printed, in order. */
  lines: string[];
}

export interface MigrationsOptions {
  force?: boolean;
  /** pg_schema, which `bootstrap` creates. */
  schema?: string;
  /** How long to wait for the cluster lock (Kong's --lock-timeout, 60 s). */
  lockTimeoutMs?: number;
}

class CommandError extends Error {}

/** A connection or a pool. */
export type Db = Pick<ClientBase, 'query'>;

const CORE = { subsystem: 'core', namespace: 'kong.db.migrations.core' };
type Lists = Omit<MigrationsStatus, 'needs_bootstrap'>;

/** State.load (kong/db/migrations/state.lua): the sandbox's one subsystem, core. */
export async function schemaState(db: Db, v: GatewayVersion): Promise<MigrationsStatus> {
  const { rows: exists } = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_meta')::text AS t`);
  const known = v.migrations.map((m) => m.name);
  const { rows } = exists[0].t
    ? await db.query<{ executed: string[] | null; pending: string[] | null; last_executed: string | null }>(
        `SELECT executed, pending, last_executed FROM schema_meta WHERE key = 'schema_meta' AND subsystem = 'core'`,
      )
    : { rows: [] };
  // no schema_meta at all needs a bootstrap; a bootstrapped database without a core row has every migration new
  const state: MigrationsStatus = { needs_bootstrap: !exists[0].t };
  const lists: Record<keyof Lists, string[]> = { executed_migrations: [], pending_migrations: [], missing_migrations: [], new_migrations: [] };
  const row = rows[0];
  let next: number | undefined;
  known.forEach((name, i) => {
    if (!row) return lists.new_migrations.push(name);
    if (name === row.last_executed) next = i + 1;
    if (row.executed?.includes(name)) lists.executed_migrations.push(name);
    else if (row.pending?.includes(name)) lists.pending_migrations.push(name);
    else if (next === undefined || i >= next) lists.new_migrations.push(name);
    else lists.missing_migrations.push(name);
  });
  for (const key of ['executed_migrations', 'pending_migrations', 'new_migrations'] as const) {
    if (lists[key].length) state[key] = [{ ...CORE, migrations: lists[key] }];
  }
  // status prints a missing migration as loaded, not by name (kong/cmd/migrations.lua, status branch)
  const missing = v.migrations.filter((m) => lists.missing_migrations.includes(m.name)).map((m) => ({ name: m.name, postgres: { up: m.up } }));
  if (missing.length) state.missing_migrations = [{ ...CORE, migrations: missing }];
  return state;
}

const names = (list: MigrationsStatus['pending_migrations']): string[] => list?.flatMap((s) => s.migrations) ?? [];

/**
 * Runs `fn` holding the cluster lock; 'aborted' when another node held it:
 * at once with noWait (bootstrap, finish), else once it was released (up).
 */
async function withLock(db: ClientBase, o: { timeoutMs: number; noWait?: boolean }, fn: () => Promise<void>): Promise<'done' | 'aborted'> {
  const owner = randomUUID();
  const { rowCount } = await db.query(
    `INSERT INTO locks (key, owner, ttl) VALUES ('migrations', $1, now() + $2 * interval '1 millisecond')
     ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, ttl = EXCLUDED.ttl WHERE locks.ttl < now()`,
    [owner, o.timeoutMs],
  );
  if (!rowCount) {
    if (o.noWait) return 'aborted';
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const { rowCount: held } = await db.query(`SELECT 1 FROM locks WHERE key = 'migrations' AND ttl >= now()`);
      if (!held) return 'aborted';
      if (Date.now() > deadline) throw new CommandError('timeout');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await fn();
    return 'done';
  } finally {
    await db.query(`DELETE FROM locks WHERE key = 'migrations' AND owner = $1`, [owner]);
  }
}

/** One migration part and its bookkeeping in one transaction, so a crash leaves either both or neither; failing, Kong's words (kong/db/init.lua). */
async function apply(db: ClientBase, sql: string, meta: string, name: string, part: 'up' | 'teardown'): Promise<void> {
  await db.query('BEGIN');
  try {
    await db.query(sql);
    await db.query(meta, [name]);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK');
    throw new CommandError(`[PostgreSQL error] failed to run migration '${name}' ${part}: ${(err as Error).message}`);
  }
}

// Recording a migration pending leaves last_executed alone (kong/db/strategies/postgres/connector.lua, record_migration).
const MARK_PENDING = `UPDATE schema_meta SET pending = array_append(coalesce(pending, '{}'), $1) WHERE key = 'schema_meta' AND subsystem = 'core'`;
const MARK_EXECUTED = `UPDATE schema_meta SET executed = array_append(coalesce(executed, '{}'), $1), pending = array_remove(coalesce(pending, '{}'), $1), last_executed = $1 WHERE key = 'schema_meta' AND subsystem = 'core'`;

/** DB:run_migrations (kong/db/init.lua): its log lines, and a migration with a teardown left pending unless `teardownToo`. */
async function run(db: ClientBase, migrations: Migration[], out: string[], o: { up: boolean; teardown: boolean; database: string }): Promise<void> {
  if (migrations.length) out.push(`migrating core on database '${o.database}'...`);
  let pending = 0;
  for (const m of migrations) {
    const leftPending = !!m.teardown && !o.teardown;
    const sql = [o.up ? m.up : '', o.teardown ? (m.teardown ?? '') : ''].join('\n');
    await apply(db, sql, leftPending ? MARK_PENDING : MARK_EXECUTED, m.name, o.up ? 'up' : 'teardown');
    if (leftPending) pending += 1;
    out.push(`core migrated up to: ${m.name} (${leftPending ? 'pending' : 'executed'})`);
  }
  out.push(`${migrations.length} migration${migrations.length > 1 ? 's' : ''} processed`);
  if (migrations.length - pending > 0) out.push(`${migrations.length - pending} executed`);
  if (pending > 0) out.push(`${pending} pending`);
}

const NEEDS_BOOTSTRAP = ['Database needs bootstrapping or is older than Kong 1.0.', '', "To start a new installation from scratch, run 'kong migrations bootstrap'."];

/** The list branch of kong/cmd/migrations.lua: what it logs, and its exit code. */
function list(s: MigrationsStatus, out: string[]): number {
  if (s.needs_bootstrap) {
    out.push(...NEEDS_BOOTSTRAP);
    return listExitOf(s);
  }
  const section = (title: string, l: MigrationsStatus['pending_migrations']) => l && out.push(...(out.length ? [''] : []), `${title}:`, ...l.map((x) => `${x.subsystem}: ${x.migrations.join(', ')}`));
  section('Executed migrations', s.executed_migrations);
  section('Pending migrations', s.pending_migrations);
  section('New migrations available', s.new_migrations);
  if (s.pending_migrations && s.new_migrations) {
    out.push('', 'Database has pending migrations from a previous upgrade, and new migrations from this upgrade', '', "Run 'kong migrations finish' when ready to complete pending migrations");
  } else if (s.pending_migrations) out.push('', "Run 'kong migrations finish' when ready");
  else if (s.new_migrations) out.push('', "Run 'kong migrations up' to proceed");
  return listExitOf(s);
}

/** Runs one migrations command of version `v` against `db` (an open connection); never throws. */
export async function runMigrationsCommand(db: ClientBase, v: GatewayVersion, cmd: MigrationsCommand, o: MigrationsOptions = {}): Promise<CommandResult> {
  const out: string[] = [];
  const timeoutMs = o.lockTimeoutMs ?? 60_000;
  const database = (await db.query<{ d: string }>('SELECT current_database() AS d')).rows[0].d;
  const byName = (list: MigrationsStatus['pending_migrations']) => v.migrations.filter((m) => names(list).includes(m.name));
  try {
    const s = await schemaState(db, v);
    switch (cmd) {
      case 'list':
        return { exitCode: list(s, out), lines: out };
      case 'status':
        out.push(JSON.stringify(s));
        return { exitCode: 0, lines: out };
      case 'bootstrap': {
        if (!s.needs_bootstrap) {
          out.push('Database already bootstrapped');
          return { exitCode: 0, lines: out };
        }
        out.push('Bootstrapping database...');
        if (o.schema) await db.query(`CREATE SCHEMA IF NOT EXISTS "${o.schema.replaceAll('"', '""')}"`);
        await db.query(META_DDL);
        const r = await withLock(db, { timeoutMs, noWait: true }, async () => {
          await db.query(`INSERT INTO schema_meta (key, subsystem, executed, pending) VALUES ('schema_meta', 'core', '{}', '{}') ON CONFLICT DO NOTHING`);
          await run(db, byName((await schemaState(db, v)).new_migrations), out, { up: true, teardown: true, database });
          out.push('Database is up-to-date');
        });
        if (r === 'aborted') out.push(NOT_LEADER_MSG);
        return { exitCode: 0, lines: out };
      }
      case 'up': {
        if (s.needs_bootstrap) throw new CommandError(`Cannot run migrations: ${NEEDS_BOOTSTRAP.join('\n')}`);
        if (s.pending_migrations && !o.force) throw new CommandError("Database has pending migrations; run 'kong migrations finish'");
        const r = await withLock(db, { timeoutMs }, async () => {
          // Another node may have migrated while this one waited to start.
          const now = await schemaState(db, v);
          if (!now.new_migrations) return void out.push('Database is already up-to-date');
          await run(db, byName(now.new_migrations), out, { up: true, teardown: false, database });
          if ((await schemaState(db, v)).pending_migrations) out.push('', "Database has pending migrations; run 'kong migrations finish' when ready");
        });
        if (r === 'aborted') out.push(NOT_LEADER_MSG);
        return { exitCode: 0, lines: out };
      }
      case 'finish': {
        if (s.needs_bootstrap) throw new CommandError(`Cannot run migrations: ${NEEDS_BOOTSTRAP.join('\n')}`);
        // only the pending migrations this version knows: another version's stay pending (State.load lists none of them)
        const r = await withLock(db, { timeoutMs, noWait: true }, async () => {
          const pending = (await schemaState(db, v)).pending_migrations;
          if (pending) await run(db, byName(pending), out, { up: false, teardown: true, database });
          const after = await schemaState(db, v);
          if (after.new_migrations) out.push('', "New migrations available; run 'kong migrations up' to proceed");
          else if (!after.pending_migrations) out.push('No pending migrations to finish');
        });
        if (r === 'aborted') out.push(NOT_LEADER_MSG);
        return { exitCode: 0, lines: out };
      }
    }
  } catch (err) {
    out.push(`Error: ${(err as Error).message}`, '', '  Run with --v (verbose) or --vv (debug) for more details');
    return { exitCode: 1, lines: out };
  }
}
