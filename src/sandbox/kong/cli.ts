/**
 * The sandbox gateway's command line, shaped like Kong's:
 *
 *   tsx src/sandbox/kong/cli.ts start --version 3.8.0 --proxy-port 8000 --admin-port 8001 --status-port 8007 \
 *     [--host 127.0.0.1] [--fail-rate 0.2] [--db-update-frequency 1000]
 *   tsx src/sandbox/kong/cli.ts migrations bootstrap|up|finish|list|status --version 3.9.0 [-f] [--lock-timeout 60]
 *
 * The database comes from Kong's environment variables: KONG_PG_HOST,
 * KONG_PG_PORT, KONG_PG_USER, KONG_PG_PASSWORD, KONG_PG_DATABASE, and
 * KONG_PG_SCHEMA (Kong sets it as the connection's schema; `bootstrap`
 * creates it, as Kong's schema_bootstrap does). The version
 * (what a Kong image is) from --version or KONG_VERSION.
 * `start` prints one JSON line {"ready":true,...} once its listeners are up and
 * stops cleanly on SIGTERM/SIGINT. `migrations` exits with Kong's codes.
 */
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { Gateway } from './gateway';
import { MIGRATIONS_COMMANDS, type MigrationsCommand } from '../../domain/kong/migrations';
import { runMigrationsCommand } from './migrations';
import { gatewayVersion } from './schema';

function databaseUrl(env: NodeJS.ProcessEnv): string {
  const missing = ['KONG_PG_HOST', 'KONG_PG_USER', 'KONG_PG_PASSWORD'].filter((k) => !env[k]);
  if (missing.length) throw new Error(`${missing.join(', ')} must be set (Kong's database settings)`);
  const u = new URL('postgres://');
  u.hostname = env.KONG_PG_HOST!;
  u.port = env.KONG_PG_PORT ?? '5432';
  u.username = encodeURIComponent(env.KONG_PG_USER!);
  u.password = encodeURIComponent(env.KONG_PG_PASSWORD!);
  u.pathname = `/${env.KONG_PG_DATABASE ?? 'kong'}`;
  if (env.KONG_PG_SCHEMA) u.searchParams.set('options', `-c search_path=${env.KONG_PG_SCHEMA}`);
  return u.toString();
}

/** Node's socket errors in the words of Kong's socket layer (LuaSocket / ngx.socket). */
const SOCKET_ERRORS: Record<string, string> = { ECONNREFUSED: 'connection refused', ETIMEDOUT: 'timeout', ENOTFOUND: 'host or service not provided, or not known', EHOSTUNREACH: 'no route to host' };

function num(name: string, v: string | undefined, ok: (n: number) => boolean, what: string): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || !ok(n)) throw new Error(`--${name} must be ${what}, got '${v ?? ''}'`);
  return n;
}
const port = (name: string, v: string | undefined) => num(name, v, (n) => Number.isInteger(n) && n > 0 && n < 65536, 'a TCP port');

async function main(argv: string[]): Promise<number> {
  const { values: a, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      version: { type: 'string', default: process.env.KONG_VERSION },
      host: { type: 'string', default: '127.0.0.1' },
      'proxy-port': { type: 'string' },
      'admin-port': { type: 'string' },
      'status-port': { type: 'string' },
      'fail-rate': { type: 'string', default: '0' },
      'db-update-frequency': { type: 'string', default: '1000' },
      force: { type: 'boolean', short: 'f', default: false },
      'lock-timeout': { type: 'string', default: '60' },
    },
    strict: true,
  });
  if (!a.version) throw new Error('--version (or KONG_VERSION) is required');
  const v = gatewayVersion(a.version);
  const database = databaseUrl(process.env);
  const [command, sub] = positionals;
  if (command === 'migrations') {
    if (!MIGRATIONS_COMMANDS.includes(sub as MigrationsCommand)) throw new Error(`migrations: command must be one of ${MIGRATIONS_COMMANDS.join(', ')}`);
    const lockTimeoutMs = num('lock-timeout', a['lock-timeout'], (n) => n > 0, 'seconds above 0') * 1000;
    const db = new Client({ connectionString: database, connectionTimeoutMillis: 5000 });
    try {
      await db.connect().catch((err: NodeJS.ErrnoException) => {
        // what Kong says when its connector's first query cannot reach the database (kong/db/strategies/postgres/connector.lua, init)
        throw new Error(`[PostgreSQL error] failed to retrieve PostgreSQL server_version_num: ${SOCKET_ERRORS[err.code ?? ''] ?? err.message}`);
      });
      const r = await runMigrationsCommand(db, v, sub as MigrationsCommand, { force: a.force, lockTimeoutMs, schema: process.env.KONG_PG_SCHEMA });
      // Kong's error (and the hint after it) goes to stderr (kong/cmd/init.lua)
      const error = r.exitCode === 1 ? r.lines.findIndex((l) => l.startsWith('Error:')) : -1;
      r.lines.forEach((line, i) => (error >= 0 && i >= error ? process.stderr : process.stdout).write(`${line}\n`));
      return r.exitCode;
    } finally {
      await db.end().catch(() => undefined);
    }
  }
  if (command !== 'start') throw new Error("command must be 'start' or 'migrations <bootstrap|up|finish|list|status>'");
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a.host!)) throw new Error(`--host must be a loopback address (127.x.y.z), got '${a.host}'`);
  const gw = new Gateway({
    version: v.version,
    database,
    host: a.host,
    proxyPort: port('proxy-port', a['proxy-port']),
    adminPort: port('admin-port', a['admin-port']),
    statusPort: port('status-port', a['status-port']),
    failRate: num('fail-rate', a['fail-rate'], (n) => n >= 0 && n <= 1, 'a share between 0 and 1'),
    dbUpdateFrequencyMs: num('db-update-frequency', a['db-update-frequency'], (n) => n >= 100, 'milliseconds, at least 100'),
  });
  await gw.start();
  const stop = (): void => void gw.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ ready: true, version: v.version, proxy: a['proxy-port'], admin: a['admin-port'], status: a['status-port'] })}\n`);
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    // kong/cmd/init.lua
    process.stderr.write(`Error: ${(err as Error).message}\n\n  Run with --v (verbose) or --vv (debug) for more details\n`);
    process.exit(1);
  },
);
