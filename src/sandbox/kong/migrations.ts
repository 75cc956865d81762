/**
 * The sandbox gateway's `migrations bootstrap|up|finish|list|status`, with
 * Kong's behaviour where cutover can tell (kong/cmd/migrations.lua):
 * list exits 0 up to date, 3 needs bootstrap, 4 pending, 5 new migrations,
 * 1 on an error; `up` refuses while migrations are pending unless forced;
 * `bootstrap`, `up` and `finish` take the cluster lock "migrations" and, when
 * another node holds it, wait for it, log "aborted: another node is
 * performing database changes" and exit 0 without migrating.
 */
import { randomUUID } from 'node:crypto';
import type { ClientBase } from 'pg';
import type { MigrationsCommand, SchemaState } from '../../domain/kong/migrations';
import { META_DDL, type GatewayVersion, type Migration } from './schema';

export const NOT_LEADER_MSG = 'aborted: another node is performing database changes';

export interface CommandResult {
  exitCode: number;
  /** What the command printed, in order. */
  lines: string[];
}

export interface MigrationsOptions {
  force?: boolean;
  /** How long to wait for the cluster lock (Kong's --lock-timeout, 60 s). */
  lockTimeoutMs?: number;
}

class CommandError extends Error {}

/** A connection or a pool. */
export type Db = Pick<ClientBase, 'query'>;

export async function schemaState(db: Db, v: GatewayVersion): Promise<SchemaState> {
  const { rows: exists } = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_meta')::text AS t`);
  const known = v.migrations.map((m) => m.name);
  if (!exists[0].t) return { needs_bootstrap: true, executed_migrations: [], pending_migrations: [], missing_migrations: [], new_migrations: known };
  const { rows } = await db.query<{ executed: string[] | null; pending: string[] | null }>(
    `SELECT executed, pending FROM schema_meta WHERE key = 'schema_meta' AND subsystem = 'core'`,
  );
  if (!rows.length) return { needs_bootstrap: true, executed_migrations: [], pending_migrations: [], missing_migrations: [], new_migrations: known };
  const executed = rows[0].executed ?? [];
  const pending = rows[0].pending ?? [];
  return {
    needs_bootstrap: false,
    executed_migrations: executed,
    pending_migrations: pending,
    missing_migrations: [...executed, ...pending].filter((n) => !known.includes(n)),
    new_migrations: known.filter((n) => !executed.includes(n) && !pending.includes(n)),
  };
}

/** Runs `fn` holding the cluster lock; 'aborted' when another node held it (waited for until released). */
async function withLock(db: ClientBase, timeoutMs: number, fn: () => Promise<void>): Promise<'done' | 'aborted'> {
  const owner = randomUUID();
  const { rowCount } = await db.query(
    `INSERT INTO locks (key, owner, ttl) VALUES ('migrations', $1, now() + $2 * interval '1 millisecond')
     ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, ttl = EXCLUDED.ttl WHERE locks.ttl < now()`,
    [owner, timeoutMs],
  );
  if (!rowCount) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rowCount: held } = await db.query(`SELECT 1 FROM locks WHERE key = 'migrations' AND ttl >= now()`);
      if (!held) return 'aborted';
      if (Date.now() > deadline) throw new CommandError(`timeout: waited ${timeoutMs} ms for the migrations lock`);
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

/** One migration part and its bookkeeping in one transaction, so a crash leaves either both or neither. */
async function apply(db: ClientBase, sql: string, meta: string, name: string): Promise<void> {
  await db.query('BEGIN');
  try {
    await db.query(sql);
    await db.query(meta, [name]);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK');
    throw new CommandError(`migration ${name} failed: ${(err as Error).message}`);
  }
}

const MARK_PENDING = `UPDATE schema_meta SET pending = array_append(coalesce(pending, '{}'), $1), last_executed = $1 WHERE key = 'schema_meta' AND subsystem = 'core'`;
const MARK_EXECUTED = `UPDATE schema_meta SET executed = array_append(coalesce(executed, '{}'), $1), pending = array_remove(coalesce(pending, '{}'), $1), last_executed = $1 WHERE key = 'schema_meta' AND subsystem = 'core'`;

async function up(db: ClientBase, migrations: Migration[], out: string[], teardownToo: boolean): Promise<void> {
  for (const m of migrations) {
    if (m.teardown && !teardownToo) {
      await apply(db, m.up, MARK_PENDING, m.name);
      out.push(`core migrated up to: ${m.name} (pending)`);
    } else {
      await apply(db, `${m.up}\n${m.teardown ?? ''}`, MARK_EXECUTED, m.name);
      out.push(`core migrated up to: ${m.name} (executed)`);
    }
  }
  out.push(`${migrations.length} migration${migrations.length === 1 ? '' : 's'} processed`);
}

function list(s: SchemaState, out: string[]): number {
  if (s.needs_bootstrap) {
    out.push('Database needs bootstrapping or is older than Kong 1.0.', '', "To start a new installation from scratch, run 'kong migrations bootstrap'.");
    return 3;
  }
  if (s.executed_migrations.length) out.push('Executed migrations:', `  core: ${s.executed_migrations.join(', ')}`);
  if (s.pending_migrations.length) out.push('Pending migrations:', `  core: ${s.pending_migrations.join(', ')}`);
  if (s.new_migrations.length) out.push('New migrations available:', `  core: ${s.new_migrations.join(', ')}`);
  if (s.pending_migrations.length) {
    if (s.new_migrations.length) out.push("Warning: run 'kong migrations finish' before 'kong migrations up'");
    else out.push("Run 'kong migrations finish' when ready");
    return 4;
  }
  if (s.new_migrations.length) {
    out.push("Run 'kong migrations up' to proceed");
    return 5;
  }
  out.push('Database schema is up-to-date');
  return 0;
}

/** Runs one migrations command of version `v` against `db` (an open connection); never throws. */
export async function runMigrationsCommand(db: ClientBase, v: GatewayVersion, cmd: MigrationsCommand, o: MigrationsOptions = {}): Promise<CommandResult> {
  const out: string[] = [];
  const lockTimeoutMs = o.lockTimeoutMs ?? 60_000;
  const byName = (names: string[]) => v.migrations.filter((m) => names.includes(m.name));
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
        await db.query(META_DDL);
        out.push('Bootstrapping database...');
        const r = await withLock(db, lockTimeoutMs, async () => {
          if (!(await schemaState(db, v)).needs_bootstrap) return;
          await db.query(`INSERT INTO schema_meta (key, subsystem, executed, pending) VALUES ('schema_meta', 'core', '{}', '{}') ON CONFLICT DO NOTHING`);
          await up(db, v.migrations, out, true);
          out.push('Database is up-to-date');
        });
        if (r === 'aborted') out.push(NOT_LEADER_MSG);
        return { exitCode: 0, lines: out };
      }
      case 'up': {
        if (s.needs_bootstrap) throw new CommandError("Database needs bootstrapping; run 'kong migrations bootstrap'");
        if (s.pending_migrations.length && !o.force) throw new CommandError("Database has pending migrations; run 'kong migrations finish'");
        if (!s.new_migrations.length) {
          out.push('Database is already up-to-date');
          return { exitCode: 0, lines: out };
        }
        const r = await withLock(db, lockTimeoutMs, async () => {
          // Another node may have migrated while this one waited to start.
          await up(db, byName((await schemaState(db, v)).new_migrations), out, false);
        });
        if (r === 'aborted') out.push(NOT_LEADER_MSG);
        return { exitCode: 0, lines: out };
      }
      case 'finish': {
        if (s.needs_bootstrap) throw new CommandError("Database needs bootstrapping; run 'kong migrations bootstrap'");
        if (!s.pending_migrations.length) {
          out.push('No pending migrations to finish');
          return { exitCode: 0, lines: out };
        }
        const unknown = s.pending_migrations.filter((n) => !v.migrations.some((m) => m.name === n));
        if (unknown.length) throw new CommandError(`pending migrations unknown to Kong ${v.version}: ${unknown.join(', ')}; finish them with the version that ran 'up'`);
        const r = await withLock(db, lockTimeoutMs, async () => {
          const pending = byName((await schemaState(db, v)).pending_migrations);
          for (const m of pending) {
            await apply(db, m.teardown ?? '', MARK_EXECUTED, m.name);
            out.push(`core migrated up to: ${m.name} (executed)`);
          }
          out.push(`${pending.length} migration${pending.length === 1 ? '' : 's'} processed`);
        });
        if (r === 'aborted') out.push(NOT_LEADER_MSG);
        return { exitCode: 0, lines: out };
      }
    }
  } catch (err) {
    out.push(`Error: ${(err as Error).message}`);
    return { exitCode: 1, lines: out };
  }
}
