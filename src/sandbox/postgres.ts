/**
 * A PostgreSQL server from Debian's binaries (initdb, pg_ctl) for the local
 * sandboxes and the tests: one data directory, loopback only, a superuser
 * with a password. A server left running by an earlier process (npm start
 * killed with SIGKILL) is adopted, not started twice. PostgreSQL refuses to
 * run as root, so as root it runs as the `postgres` system user; when that
 * user cannot reach the directory asked for (a data directory made with
 * `mktemp -d` is closed to others), the server's files go to a directory of
 * its own under /var/tmp/cutover-postgres, and a note in the one asked for
 * says where.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../runtime/freePort';

const run = promisify(execFile);

export const SANDBOX_PG_USER = 'cutover';
export const SANDBOX_PG_PASSWORD = 'cutover-sandbox';

/** Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin. */
export function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const major of majors) {
    const path = join(root, major, 'bin', name);
    if (existsSync(path)) return path;
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} (PostgreSQL) not found: run 'npm run bootstrap' (it installs Debian's postgresql)`);
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** As root, the postgres system user Debian's package creates. */
async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

export interface PostgresOptions {
  /** Data directory (created by initdb on first start); its socket and log go beside it. */
  dir: string;
  /** Loopback port; omitted: a free one. A server adopted from an earlier run keeps its own. */
  port?: number;
}

export class PostgresServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly as: RunAs,
  ) {}

  static async start(o: PostgresOptions): Promise<PostgresServer> {
    const as = await runAs();
    const dir = await reachableDir(o.dir, as);
    const data = join(dir, 'data');
    if (!existsSync(join(data, 'PG_VERSION'))) {
      const pwfile = join(dir, 'pwfile');
      writeFileSync(pwfile, `${SANDBOX_PG_PASSWORD}\n`, { mode: 0o600 });
      if (as.uid !== undefined) chownSync(pwfile, as.uid, as.gid!);
      await run(postgresBin('initdb'), ['-D', data, '-U', SANDBOX_PG_USER, `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--no-instructions'], as);
    }
    const adopted = await runningPort(data, as);
    if (adopted !== undefined) return new PostgresServer(dir, adopted, as);
    const port = o.port ?? (await freePort());
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c max_connections=200`;
    await run(postgresBin('pg_ctl'), ['-D', data, '-l', join(dir, 'postgres.log'), '-o', opts, '-w', '-t', '60', 'start'], as).catch((err: Error & { stderr?: string }) => {
      throw new Error(`PostgreSQL did not start on 127.0.0.1:${port} (data ${data}; see ${join(dir, 'postgres.log')}): ${err.stderr?.trim() || err.message}`);
    });
    return new PostgresServer(dir, port, as);
  }

  /** A connection string as the sandbox superuser. */
  url(database = 'postgres'): string {
    return `postgres://${SANDBOX_PG_USER}:${SANDBOX_PG_PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  /** Creates the database if it does not exist yet. */
  async ensureDatabase(name: string): Promise<void> {
    const client = new Client({ connectionString: this.url() });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    } finally {
      await client.end();
    }
  }

  /** Fast shutdown: open connections are closed, the data stays for the next start. */
  async stop(): Promise<void> {
    await run(postgresBin('pg_ctl'), ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop'], this.as).catch(() => undefined);
  }
}

/** Where the server keeps its files: dir, unless the postgres user (as root) cannot write there; then one of its own, the same for the same dir. */
async function reachableDir(dir: string, as: RunAs): Promise<string> {
  mkdirSync(dir, { recursive: true });
  if (as.uid === undefined) return dir;
  chownSync(dir, as.uid, as.gid!);
  if (await run('test', ['-w', dir], as).then(() => true, () => false)) return dir;
  mkdirSync(RELOCATED, { recursive: true, mode: 0o711 });
  const own = join(RELOCATED, createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 16));
  mkdirSync(own, { recursive: true, mode: 0o700 });
  chownSync(own, as.uid, as.gid!);
  writeFileSync(join(dir, 'WHERE'), `The postgres user cannot reach this directory: this PostgreSQL keeps its data, socket and log in ${own}\n`);
  return own;
}

/** As root, the servers whose directory the postgres user cannot reach keep their files here. */
export const RELOCATED = '/var/tmp/cutover-postgres';

/** The port of a server already running on this data directory, from its postmaster.pid. */
async function runningPort(data: string, as: RunAs): Promise<number | undefined> {
  try {
    await run(postgresBin('pg_ctl'), ['-D', data, 'status'], as);
  } catch {
    return undefined;
  }
  // line 4 of postmaster.pid is the port
  const port = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}
