/**
 * `cutover`: the command line of the HTTP API (bin/cutover.js runs this).
 * Each command is one or two API requests; errors say what to do and exit
 * with a code of the table in exitCodes.ts.
 */
import { Command, CommanderError, Option } from 'commander';
import { STATUSES } from '../domain/status';
import { ApiClient } from './client';
import * as config from './commands/config';
import { history, list, status, target, targets, whoami } from './commands/read';
import { cleanup, steer, type Action } from './commands/steer';
import { upgrade } from './commands/upgrade';
import { watch } from './commands/watch';
import { resolveConnection } from './contexts';
import { CliError, EXIT } from './exitCodes';
import { processIo, type Io } from './io';

interface Globals {
  url?: string;
  token?: string;
  context?: string;
  output: 'text' | 'json';
}

const STEER: Record<Action, string> = {
  approve: 'approve the gate an upgrade waits at (needs the approver role)',
  rollback: 'roll an upgrade back: traffic to blue, green removed (operator; refused after the point of no return)',
  abort: 'stop an upgrade: before finalize it rolls back, after it the clean-up stops (operator)',
};

export function program(): Command {
  const cli = new Command('cutover')
    .description('Zero-downtime blue-green upgrades through the cutover API (EMQX, Kong, event-sourced projections)')
    .option('--url <url>', 'the API (else CUTOVER_URL, the context, http://127.0.0.1:8080)')
    .option('--token <token>', 'bearer token (else CUTOVER_TOKEN, the context)')
    .option('--context <name>', 'a context of ~/.config/cutover/config.yaml (else CUTOVER_CONTEXT, its current-context)')
    .addOption(new Option('-o, --output <format>', 'text for people, json for scripts').choices(['text', 'json']).default('text'))
    .showHelpAfterError('(cutover --help lists the commands, cutover COMMAND --help its options)')
    .exitOverride();

  /** Runs a command with the API client and output the global options say. */
  const run =
    <A extends unknown[]>(body: (api: ApiClient, io: Io, ...args: A) => Promise<number | void> | number | void) =>
    async (...args: A) => {
      const g = cli.opts<Globals>();
      process.exitCode = (await body(new ApiClient(resolveConnection(g)), processIo(g.output === 'json'), ...args)) ?? EXIT.ok;
    };
  const local =
    <A extends unknown[]>(body: (io: Io, ...args: A) => void) =>
    (...args: A) =>
      body(processIo(cli.opts<Globals>().output === 'json'), ...args);
  const waiting = (c: Command) =>
    c
      .option('--wait', 'follow the upgrade to its end; exit 0 SUCCEEDED, 3 ROLLED_BACK, 4 FAILED')
      .option('--timeout <duration>', 'with --wait: give up after this long (exit 8), e.g. 30m')
      .option('--interval <duration>', 'how often to read the state', '1s');

  cli
    .command('targets [target]')
    .description('the targets with their latest upgrade and what serves; with TARGET, its releases as its platform runs them (owners, traffic, orphans)')
    .action(run((api, io, name?: string) => (name ? target(api, io, name) : targets(api, io))));
  cli.command('status [target-or-id]').description("every target's latest upgrade; or one upgrade whole: status, step, releases, gates, the kind's panel").action(run(status));
  cli
    .command('list')
    .description('upgrades, newest first')
    .addOption(new Option('--status <status>', 'only upgrades with this status').choices(STATUSES))
    .option('--target <target>', 'only upgrades of this target')
    .option('--kind <kind>', 'only upgrades of this kind')
    .action(run((api, io, flags: { status?: string; target?: string; kind?: string }) => list(api, io, flags)));
  cli.command('history <target-or-id>').description('the transitions of an upgrade: when, who, what, why').action(run(history));
  cli.command('whoami').description('the principal and roles of the token').action(run(whoami));
  waiting(
    cli
      .command('upgrade <target> <version>')
      .description('start an upgrade of TARGET to VERSION, or with --plan preview it (operator)')
      .option('--option <key=value>', 'an upgrade option, repeatable: approval=manual, standbyWindow=10m, emqx.connEvictRate=50, traffic=[{weight: 10}, {weight: 100}]', (v, all: string[]) => [...all, v], [])
      .option('--options-file <file>', 'upgrade options from a YAML or JSON file (--option wins field by field)')
      .option('--image <image>', 'the container image of the new version')
      .option('--reason <text>', 'why: recorded in the history')
      .option('--plan', 'preview it: the steps, traffic plan, gates, point of no return, undos, capacity and history budget; refused as a start would be; nothing started'),
  ).action(run((api, io, t: string, version: string, flags) => upgrade(api, io, t, version, flags)));
  for (const action of Object.keys(STEER) as Action[]) {
    const c = cli.command(`${action} <target-or-id>`).description(STEER[action]).requiredOption('--reason <text>', 'why: recorded in the history');
    (action === 'approve' ? waiting(c) : c.option('--interval <duration>', 'how often to read the state', '1s')).action(
      run((api, io, id: string, flags) => steer(api, io, action, id, flags)),
    );
  }
  cli
    .command('cleanup <target>')
    .description("remove a target's orphans (releases nothing uses, e.g. left by a terminated run) (operator)")
    .requiredOption('--reason <text>', 'why: recorded in the history')
    .action(run((api, io, t: string, flags: { reason: string }) => cleanup(api, io, t, flags.reason)));
  cli
    .command('watch <target-or-id>')
    .description('follow an upgrade live (redrawn in place on a terminal, a line per change otherwise) until it ends; exits as --wait')
    .option('--interval <duration>', 'how often to read the state', '1s')
    .action(run((api, io, id: string, flags: { interval: string }) => watch(api, io, id, flags)));

  const contexts = cli.command('config').description('contexts of ~/.config/cutover/config.yaml: an API URL and its token each, as kubectl does');
  contexts
    .command('set-context <name>')
    .description('add or change a context (the first becomes current): its --url, and --token (kept in the file, mode 0600) or --token-env')
    .option('--token-env <variable>', 'the environment variable that holds the token (nothing secret in the file)')
    .action(local((io, name: string, flags: { tokenEnv?: string }) => config.setContext(io, name, { ...cli.opts<Globals>(), ...flags })));
  contexts.command('use-context <name>').description('make a context current').action(local(config.useContext));
  contexts.command('get-contexts').description('list the contexts').action(local(config.getContexts));
  contexts.command('current-context').description('the current context').action(local(config.currentContext));
  contexts.command('delete-context <name>').description('remove a context').action(local(config.deleteContext));

  return cli;
}

/** Runs the CLI; the exit code says how it went (README "CLI": exit codes). */
export async function main(argv: string[]): Promise<void> {
  const cli = program();
  try {
    await cli.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; anything commander refused is a usage error (it printed why)
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const json = cli.opts<Globals>().output === 'json';
    if (err instanceof CliError) {
      process.stderr.write(json ? `${JSON.stringify({ error: { message: err.message, exitCode: err.exitCode, api: (err.body as { error?: unknown })?.error } })}\n` : `cutover: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`cutover: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = EXIT.error;
  }
}

if (require.main === module) void main(process.argv);
