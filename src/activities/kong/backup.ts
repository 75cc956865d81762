/**
 * The Kong database backup taken before `kong migrations up`: pg_dump in
 * custom format, written by the worker itself into a file only its user can
 * read (the dump holds Kong's certificate keys and credentials), with a
 * SHA-256 beside it in sha256sum's format; older backups of the target past
 * the retention are removed. Restore: pg_restore (see the README).
 */
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/activity';
import type { Client, ClientConfig } from 'pg';
import { parseDuration } from '../../domain/duration';
import type { KongAccess } from '../../domain/kong/schema';
import { withDatabase } from '../pg';
import { tryAgainQuickly } from '../transient';

const run = promisify(execFile);

export interface BackupFile {
  file: string;
  bytes: number;
  sha256: string;
  createdAt: string;
}

export interface BackupRecord extends BackupFile {
  path: string;
  /** The worker that wrote it: where the file is, if the backup directory is not shared. */
  host: string;
  /** Found from an earlier attempt of this upgrade's backup, not taken again. */
  reused: boolean;
  /** The target's backups in the directory after the retention, newest first (this one included). */
  kept: BackupFile[];
  /** Backups the retention removed. */
  removed: string[];
}

export interface Retention {
  /** Backups of the target kept at most. */
  keep: number;
  /** Older backups are removed (this upgrade's never). */
  maxAgeMs: number;
}

export interface BackupRequest {
  db: ClientConfig;
  pgDump: string;
  dir: string;
  /** Backups are named <target>-<upgradeId>.dump. */
  target: string;
  upgradeId: string;
  retention: Retention;
}

const PG_DUMP_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_RETENTION = { keep: 10, maxAge: '30d' };

/**
 * The target's backup before this upgrade's `up`, where the target says
 * (kong.backupDir), else where the worker keeps backups (CUTOVER_BACKUP_DIR,
 * a volume in the shipped manifests), else under the data directory.
 */
export function backupKong(access: KongAccess, db: ClientConfig, env: NodeJS.ProcessEnv, pgDump: string, i: { target: string; upgradeId: string }): Promise<BackupRecord> {
  const dir = access.backupDir ?? env.CUTOVER_BACKUP_DIR ?? join(env.CUTOVER_DATA_DIR ?? '.data', 'backups');
  const retention = { keep: access.backupRetention?.keep ?? DEFAULT_RETENTION.keep, maxAgeMs: parseDuration(access.backupRetention?.maxAge ?? DEFAULT_RETENTION.maxAge) };
  return backupDatabase({ db, pgDump, dir: resolve(dir), retention, ...i }, () => withDatabase(db, `reading the version of the Kong database ${String(db.database)}`, serverMajor));
}

async function serverMajor(c: Client): Promise<number> {
  const { rows } = await c.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
  return Math.floor(rows[0].v / 10_000);
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function backupDatabase(r: BackupRequest, serverMajor: () => Promise<number>): Promise<BackupRecord> {
  const file = `${r.target}-${r.upgradeId.replace(/[^\w.-]/g, '_')}.dump`;
  const path = join(r.dir, file);
  mkdirSync(r.dir, { recursive: true, mode: 0o700 });
  const reused = existsSync(path) && existsSync(`${path}.sha256`);
  if (!reused) {
    await checkPgDump(r.pgDump, await serverMajor());
    // a dump whose connection was lost starts again from nothing (dumpTo keeps only a complete one)
    await tryAgainQuickly(() => dumpTo(r, path));
  }
  const { kept, removed } = applyRetention(r, file);
  return { ...describeBackup(r.dir, file), path, host: hostname(), reused, kept, removed };
}

/** pg_dump refuses a server of a later major version than its own: said before anything is written, for good (a retry cannot help). */
async function checkPgDump(pgDump: string, server: number): Promise<void> {
  let version: string;
  try {
    version = (await run(pgDump, ['--version'])).stdout;
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`${pgDump} cannot run (${(err as Error).message}): the worker needs pg_dump ${server} or later for the Kong backup`, 'Misconfigured');
  }
  const own = Number(/(\d+)(?:\.\d+)?/.exec(version)?.[1]);
  if (!(own >= server)) {
    throw ApplicationFailure.nonRetryable(`${version.trim()} cannot dump PostgreSQL ${server}: the worker needs pg_dump ${server} or later for the Kong backup`, 'Misconfigured');
  }
}

/** Into <path>.partial created 0600, hashed as it streams; renamed only once complete, so a dump cut short is never taken for a backup. */
async function dumpTo(r: BackupRequest, path: string): Promise<void> {
  const partial = `${path}.partial`;
  const out = await open(partial, 'w', 0o600);
  await out.chmod(0o600); // whatever a leftover partial had
  const hash = createHash('sha256');
  const { db } = r;
  const child = spawn(r.pgDump, ['--format=custom', `--host=${db.host}`, `--port=${db.port}`, `--username=${db.user}`, String(db.database)], {
    env: { ...process.env, PGPASSWORD: String(db.password ?? ''), PGCONNECT_TIMEOUT: '10' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: PG_DUMP_TIMEOUT_MS,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  try {
    for await (const chunk of child.stdout) {
      hash.update(chunk as Buffer);
      await out.write(chunk as Buffer);
    }
    const code = await new Promise<number | null>((resolve, reject) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      child.once('error', reject).once('close', resolve);
    });
    if (code !== 0) {
      // libpq's words: refused credentials or rights, or a database that is not there, will not pass; a lost connection may
      const refused = /password authentication failed|permission denied|does not exist/.test(stderr);
      // its error line only: Temporal keeps an activity's failure within a few KB, the query pg_dump ran included
      const error = stderr.split('\n').find((l) => l.includes('error:')) ?? stderr.trim().split('\n')[0] ?? '';
      throw ApplicationFailure.create({
        message: `pg_dump of ${db.database} on ${db.host}:${db.port} failed (exit ${code}): ${error.slice(0, 300)}`,
        type: refused ? 'DatabaseRefused' : 'DatabaseUnavailable',
        nonRetryable: refused,
      });
    }
    await out.sync();
  } finally {
    await out.close();
  }
  renameSync(partial, path);
  writeFileSync(`${path}.sha256`, `${hash.digest('hex')}  ${path.split('/').pop()}\n`, { mode: 0o600 });
  chmodSync(`${path}.sha256`, 0o600);
}

function describeBackup(dir: string, file: string): BackupFile {
  const st = statSync(join(dir, file));
  const sha256 = readFileSync(join(dir, `${file}.sha256`), 'utf8').split(/\s+/)[0];
  return { file, bytes: st.size, sha256, createdAt: st.mtime.toISOString() };
}

/** The target's backups (by name: other targets' and other files are never touched), newest first; past `keep` or `maxAge` removed, this one kept. */
function applyRetention(r: BackupRequest, current: string): { kept: BackupFile[]; removed: string[] } {
  const mine = new RegExp(`^${escape(r.target)}-${escape(r.target)}\\.[0-9a-f-]{36}\\.dump$`);
  const backups = readdirSync(r.dir)
    .filter((f) => mine.test(f) && existsSync(join(r.dir, `${f}.sha256`)))
    .map((f) => describeBackup(r.dir, f))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const oldest = Date.now() - r.retention.maxAgeMs;
  const kept: BackupFile[] = [];
  const removed: string[] = [];
  for (const b of backups) {
    if (b.file === current || (kept.length < r.retention.keep && Date.parse(b.createdAt) >= oldest)) {
      kept.push(b);
    } else {
      for (const f of [b.file, `${b.file}.sha256`]) rmSync(join(r.dir, f), { force: true });
      removed.push(b.file);
    }
  }
  return { kept, removed };
}
