/**
 * Starting cutover's parts against a Temporal frontend, shared by the
 * production entries (src/bin/) and npm start's launcher (src/embedded/):
 * each part registers its stop with the Stopper right after it started, so a
 * signal or a failed start stops what had started, last first.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import pino from 'pino';
import pinoPretty from 'pino-pretty';
import type { Registry } from 'prom-client';
import type { ActivityDeps } from '../activities';
import { buildServer } from '../api/server';
import { loadConfig, type Config, type LoadOptions } from '../config/file';
import type { TemporalConnection } from '../config/temporalConnection';
import { ConfigError } from '../config/schemaErrors';
import { ensureSearchAttributes } from './searchAttributes';
import type { Stopper } from './stopper';
import { createWorker } from './worker';

/** How the worker and the API connect: address, TLS, API key, gRPC metadata. */
type ConnectionOptions = TemporalConnection['options'];

/** The configuration, or exit 2 naming what to fix (a variable or the config file). */
export function readConfigOrExit(program: string, options?: LoadOptions): Config {
  try {
    return loadConfig(process.env, options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exit(2);
  }
}

/** TEMPORAL_ADDRESS (or a profile's address), or exit 2 saying to set it: the production entries run against a cluster only. */
export function clusterAddressOrExit(program: string, config: Config): string {
  const { address } = config.env.temporal;
  if (address) return address;
  process.stderr.write(
    `${program}: TEMPORAL_ADDRESS is not set: set it to the Temporal frontend as host:port, e.g. temporal.example:7233 (npm start runs an embedded dev server instead)\n`,
  );
  process.exit(2);
}

/**
 * cutover's logger: JSON lines on stdout, for files, pipes and log collectors;
 * with `pretty` (npm start in a terminal) one readable, coloured line each.
 */
export function newLogger(config: Config, { pretty = false } = {}): pino.Logger {
  const options = { level: config.env.logLevel, base: { service: 'cutover' } };
  if (!pretty) return pino(options);
  // in this thread, synchronously: a line logged just before an exit is not lost
  return pino(options, pinoPretty({ sync: true, colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' }));
}

const SDK_LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The Temporal SDK's runtime, before any connection: its own logs through
 * cutover's logger at WARN (INFO when cutover's are at debug) and its metrics served at `metrics` (host:port)
 * if given. Its shutdown is the Stopper's, in its turn.
 */
export function installSdkRuntime(config: Config, metrics: string | undefined, log: pino.Logger): void {
  const level = config.env.logLevel === 'debug' ? 'INFO' : 'WARN';
  Runtime.install({
    logger: new DefaultLogger(level, ({ level, message, meta }) => log[SDK_LEVELS[level]]({ sdk: true, ...meta }, message)),
    shutdownSignals: [],
    telemetryOptions: {
      // the native core's logs too (its polls' retries), else it prints them to the console in a format of its own
      logging: { filter: { core: level, other: 'ERROR' }, forward: {} },
      ...(metrics ? { metrics: { prometheus: { bindAddress: metrics } } } : {}),
    },
  });
}

/**
 * A client of the upgrades' namespace. Against a cluster (searchAttributes),
 * cutover's search attributes are registered if missing, or the log says
 * which to register.
 */
export async function connectClient(config: Config, options: ConnectionOptions, stopper: Stopper, log: pino.Logger, searchAttributes: boolean): Promise<Client> {
  const connection = await Connection.connect(options);
  stopper.add('Temporal connection', () => connection.close());
  const { namespace } = config.env.temporal;
  if (searchAttributes) {
    await ensureSearchAttributes(connection, namespace).then(
      (added) => added.length && log.info({ added }, 'registered search attributes'),
      (err) => log.warn({ err: String(err) }, 'could not register search attributes; register CutoverTarget, CutoverKind, CutoverStatus, CutoverPhase (Keyword) yourself'),
    );
  }
  return new Client({ connection, namespace });
}

/** Starts a worker on the task queue; what it returns settles when the worker has stopped. */
export async function startWorker(
  config: Config,
  options: ConnectionOptions,
  stopper: Stopper,
  deps: Omit<ActivityDeps, 'steeringKeys'>,
  registry: Registry,
): Promise<{ running: Promise<void> }> {
  const connection = await NativeConnection.connect(options);
  const worker = await createWorker(connection, config, deps, { registry });
  const running = worker.run();
  stopper.add('worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection.close();
  });
  return { running };
}

/** Starts the API listening where the configuration says, its /metrics reading `registry`. */
export async function startApi(config: Config, client: Client, stopper: Stopper, log: pino.Logger, registry: Registry): Promise<void> {
  const app = await buildServer({ client, config, logger: log, registry });
  await app.listen({ host: config.env.api.host, port: config.env.api.port });
  stopper.add('API', () => app.close());
  const dev = config.auth.principals.filter((p) => p.tokenSource === 'devDefault').map((p) => p.principal);
  if (dev.length) log.warn({ principals: dev }, 'using the development tokens from the config file; set the token variables for anything but a laptop');
}

/**
 * Runs a start under a Stopper that stops on SIGINT and SIGTERM, then waits
 * until what the start returns as running settles (the worker's run; the API
 * runs until a signal). A start that fails
 * or a part that fails later stops what had started; so does a signal during
 * the start (exit 0).
 */
export async function runStopping(stopper: Stopper, start: () => Promise<{ running: Promise<unknown> }>, onUp: () => void = () => undefined): Promise<void> {
  stopper.onSignals();
  try {
    const { running } = await start();
    stopper.up();
    onUp();
    await running;
  } catch (err) {
    await stopper.stopAll();
    if (stopper.signalled) process.exit(0);
    throw err;
  }
}
