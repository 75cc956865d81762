/** Where the pinned Temporal binaries are: installed by scripts/bootstrap.sh into .tools/venv. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const VENV_BIN = join(ROOT, '.tools', 'venv', 'bin');

function locate(envVar: string, name: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const local = join(VENV_BIN, name);
  if (existsSync(local)) return local;
  throw new Error(`${name} not found at ${local}; run 'npm run bootstrap' (or set ${envVar} to its path)`);
}

export const temporalCliPath = (): string => locate('TEMPORAL_CLI_PATH', 'temporal');
export const temporalTestServerPath = (): string => locate('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server');
export const projectRoot = ROOT;
