/**
 * Starts sandbox gateway nodes and runs their migrations commands as OS
 * processes of ./cli.ts, with the database in Kong's KONG_PG_* variables (so
 * the password is not in the process list). Used by the tests, the local
 * sandbox and the local migration runner.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../runtime/binaries';
import { freePort } from '../../runtime/freePort';
import { startSandboxProcess, type SandboxProcess } from '../process';
import type { MigrationsCommand } from '../../domain/kong/migrations';

const CLI = join(__dirname, 'cli.ts');

/** Kong's database settings. */
export interface KongDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** pg_schema: where Kong's tables are (default: the user's search_path, public). */
  schema?: string;
}

export const kongEnv = (db: KongDatabase): NodeJS.ProcessEnv => ({
  KONG_PG_HOST: db.host,
  KONG_PG_PORT: String(db.port),
  KONG_PG_USER: db.user,
  KONG_PG_PASSWORD: db.password,
  KONG_PG_DATABASE: db.database,
  ...(db.schema ? { KONG_PG_SCHEMA: db.schema } : {}),
});

export interface GatewayNodeSpec {
  /** Names its log file. */
  name: string;
  version: string;
  db: KongDatabase;
  logDir: string;
  failRate?: number;
  /** The loopback address it listens on; default 127.0.0.1. */
  host?: string;
  /** Loopback ports; free ones when omitted. */
  proxyPort?: number;
  adminPort?: number;
  statusPort?: number;
  dbUpdateFrequencyMs?: number;
}

export interface GatewayNode extends SandboxProcess {
  version: string;
  proxyPort: number;
  adminPort: number;
  statusPort: number;
  proxyUrl: string;
  adminUrl: string;
  statusUrl: string;
}

export async function startGatewayNode(s: GatewayNodeSpec): Promise<GatewayNode> {
  const proxyPort = s.proxyPort ?? (await freePort());
  const adminPort = s.adminPort ?? (await freePort());
  const statusPort = s.statusPort ?? (await freePort());
  const host = s.host ?? '127.0.0.1';
  const args = ['start', '--version', s.version, '--host', host, '--proxy-port', String(proxyPort), '--admin-port', String(adminPort), '--status-port', String(statusPort)];
  if (s.failRate) args.push('--fail-rate', String(s.failRate));
  if (s.dbUpdateFrequencyMs) args.push('--db-update-frequency', String(s.dbUpdateFrequencyMs));
  const p = await startSandboxProcess({
    label: `sandbox gateway ${s.name} (Kong ${s.version})`,
    script: CLI,
    args,
    env: kongEnv(s.db),
    logFile: join(s.logDir, `${s.name}.log`),
  });
  const url = (port: number) => `http://${host}:${port}`;
  return { ...p, version: s.version, proxyPort, adminPort, statusPort, proxyUrl: url(proxyPort), adminUrl: url(adminPort), statusUrl: url(statusPort) };
}

export interface MigrationsRun {
  exitCode: number;
  /** stdout and stderr, line by line. */
  output: string[];
}

/** `kong migrations <command>` of `version` as a process; resolves with its exit code whatever it is. */
export function runMigrationsProcess(o: { version: string; command: MigrationsCommand; db: KongDatabase; force?: boolean; lockTimeoutS?: number }): Promise<MigrationsRun> {
  const args = ['--import', 'tsx', CLI, 'migrations', o.command, '--version', o.version];
  if (o.force) args.push('-f');
  if (o.lockTimeoutS) args.push('--lock-timeout', String(o.lockTimeoutS));
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: projectRoot, env: { ...process.env, ...kongEnv(o.db) }, timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ exitCode: code, output: `${stdout}${stderr}`.split('\n').filter(Boolean) });
    });
  });
}
