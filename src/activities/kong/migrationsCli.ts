/**
 * `kong migrations <command>` on the target's platform, its answer read as
 * Kong prints it: `status`'s JSON line through the schema, `list`'s exit
 * code, and Kong's error line (kong/cmd/init.lua writes `Error: <message>` to
 * stderr and exits 1) turned into a failure whose retry follows what it
 * means: a database Kong could not reach before doing anything may come back;
 * a migration that failed, or an answer that is not Kong's, does not.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { Value } from '@sinclair/typebox/value';
import { KongAnswerError, ListExitCode, MigrationsStatus, kongAnswer } from '../../domain/kong/answers';
import type { CommandRun } from '../../domain/kong/local';
import { LIST_EXIT, listMeaning, tail, type MigrationsCommand } from '../../domain/kong/migrations';
import type { KongPlatform } from './platform';

/** The connector's first query (kong/db/strategies/postgres/connector.lua, init): nothing ran yet. */
const UNREACHABLE = 'failed to retrieve PostgreSQL server_version_num';

const kongError = (output: string[]): string | undefined => output.find((l) => /^Error:\s*\S/.test(l))?.replace(/^Error:\s*/, '');

/** Why a command that did not succeed failed, and whether another attempt may help. */
export function commandFailure(command: MigrationsCommand, version: string, r: CommandRun, details?: unknown): ApplicationFailure {
  const what = `kong migrations ${command} (Kong ${version})`;
  const changes = command === 'up' || command === 'finish' || command === 'bootstrap';
  const last = tail(r.output, 3).join(' | ');
  const error = kongError(r.output);
  // 128 + a signal: the container was killed (out of memory, evicted); a migration may have been cut short
  if (r.exitCode > 128) {
    const text = `${what} was killed (exit ${r.exitCode}): ${last}`;
    return changes ? ApplicationFailure.nonRetryable(text, 'MigrationFailed', details) : ApplicationFailure.retryable(text, 'KongCommandKilled', details);
  }
  if (error?.includes(UNREACHABLE)) return ApplicationFailure.retryable(`${what}: Kong cannot reach its database: ${error}`, 'DatabaseUnreachable', details);
  // no line of Kong's: Kong never ran (a Job that failed without its container exiting), so trying again is safe
  if (!error) return ApplicationFailure.retryable(`${what} exited ${r.exitCode} without an error of Kong's: ${last}`, 'KongCommandFailed', details);
  return ApplicationFailure.nonRetryable(`${what} failed: ${error}`, changes ? 'MigrationFailed' : 'KongCommandFailed', details);
}

const notKongs = (err: unknown): never => {
  if (err instanceof KongAnswerError) throw ApplicationFailure.nonRetryable(err.message, 'KongAnswer');
  throw err;
};

export function migrationsCli(platform: (target: string) => KongPlatform) {
  /** `status` with `version`: what it prints, through the schema of what Kong prints. */
  async function status(target: string, version: string, blue?: string): Promise<MigrationsStatus> {
    const r = await platform(target).run({ version, command: 'status', blue });
    if (r.exitCode !== 0) throw commandFailure('status', version, r);
    const line = r.output.find((l) => l.trim().startsWith('{'));
    let printed: unknown;
    try {
      printed = JSON.parse(line ?? '');
    } catch {
      throw ApplicationFailure.nonRetryable(`kong migrations status (Kong ${version}) printed no JSON line: ${tail(r.output, 5).join(' | ')}`, 'KongAnswer');
    }
    try {
      return kongAnswer(MigrationsStatus, printed, { answer: "'kong migrations status'", version });
    } catch (err) {
      return notKongs(err);
    }
  }

  /** `list` with `version`: its exit code (0, 3, 4, 5) and what it means. */
  async function list(target: string, version: string, blue?: string): Promise<{ exitCode: number; meaning: string }> {
    const r = await platform(target).run({ version, command: 'list', blue });
    if (r.exitCode === LIST_EXIT.error || r.exitCode > 128) throw commandFailure('list', version, r);
    if (!Value.Check(ListExitCode, r.exitCode)) {
      throw ApplicationFailure.nonRetryable(
        `kong migrations list (Kong ${version}) exited ${r.exitCode}, which Kong's list never does (0, 3, 4 or 5, and 1 on an error; kong/cmd/migrations.lua): ${tail(r.output, 3).join(' | ')}`,
        'KongAnswer',
      );
    }
    return { exitCode: r.exitCode, meaning: listMeaning(r.exitCode) };
  }

  return { status, list };
}
