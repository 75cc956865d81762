/**
 * `npm start`: the embedded default (a Temporal dev server with its history in
 * .data/, unless TEMPORAL_ADDRESS names a cluster), one worker and the API.
 * Ctrl-C stops every child process.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { buildServer } from './api/server';
import { ConfigError } from './config/schemaErrors';
import { loadConfig, type Config } from './config/file';
import { projectRoot } from './runtime/binaries';
import { startDevServer, type DevServer } from './runtime/devServer';
import { ensureSearchAttributes } from './runtime/searchAttributes';
import { createWorker } from './runtime/worker';

const DEV_PORT = Number(process.env.CUTOVER_DEV_TEMPORAL_PORT ?? 7233);
const DEV_UI_PORT = Number(process.env.CUTOVER_DEV_TEMPORAL_UI_PORT ?? DEV_PORT + 1000);

async function main(): Promise<void> {
  const config = readConfig();
  const log = pino({ level: config.env.logLevel, base: { service: 'cutover' } });
  Runtime.install({
    logger: new DefaultLogger(config.env.logLevel === 'debug' ? 'INFO' : 'WARN'),
    ...(config.env.workerMetrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: config.env.workerMetrics } } } } : {}),
  });

  const stops: (() => Promise<unknown>)[] = [];
  const shutdown = async (signal: string): Promise<void> => {
    log.info({ signal }, 'stopping');
    for (const stop of stops.reverse()) await stop().catch((err) => log.error({ err }, 'stop failed'));
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  let address = config.env.temporal.address;
  let dev: DevServer | undefined;
  if (!address) {
    const dataDir = join(projectRoot, '.data');
    mkdirSync(dataDir, { recursive: true });
    log.info({ port: DEV_PORT, uiPort: DEV_UI_PORT }, 'starting the embedded Temporal dev server');
    dev = await startDevServer({ port: DEV_PORT, uiPort: DEV_UI_PORT, dbFile: join(dataDir, 'temporal.sqlite'), namespace: config.env.temporal.namespace });
    stops.push(() => dev!.stop());
    address = dev.address;
    config.env.temporal.uiUrl ??= dev.uiUrl;
  }

  const connection = await Connection.connect({ address });
  stops.push(() => connection.close());
  if (!dev) {
    await ensureSearchAttributes(connection, config.env.temporal.namespace).then(
      (added) => added.length && log.info({ added }, 'registered search attributes'),
      (err) => log.warn({ err: String(err) }, 'could not register search attributes; register CutoverTarget, CutoverKind, CutoverStatus, CutoverPhase (Keyword) yourself'),
    );
  }
  const client = new Client({ connection, namespace: config.env.temporal.namespace });

  const workerConnection = await NativeConnection.connect({ address });
  const worker = await createWorker(workerConnection, config);
  const running = worker.run();
  stops.push(async () => {
    worker.shutdown();
    await running;
    await workerConnection.close();
  });

  const app = await buildServer({ client, config, logger: log });
  await app.listen({ host: config.env.api.host, port: config.env.api.port });
  stops.push(() => app.close());
  warnAboutDevTokens(config, log);

  const api = `http://${config.env.api.host}:${config.env.api.port}`;
  const lines = [
    '',
    `cutover is up (task queue ${config.env.temporal.taskQueue}, Temporal at ${address})`,
    `  API docs:    ${api}/docs`,
    config.env.temporal.uiUrl ? `  Temporal UI: ${config.env.temporal.uiUrl}` : undefined,
    `  targets:     ${config.targets.map((t) => `${t.name} (${t.kind})`).join(', ')}`,
    '',
    'Start an upgrade:',
    `  curl -s -X POST ${api}/v1/upgrades -H 'Authorization: Bearer <operator token>' -H 'Content-Type: application/json' \\`,
    `    -d '{"kind":"${config.targets[0]?.kind ?? 'emqx'}","target":"${config.targets[0]?.name ?? 'TARGET'}","version":"5.8.0"}'`,
    '',
    'Ctrl-C stops everything.',
  ];
  process.stdout.write(lines.filter((l) => l !== undefined).join('\n') + '\n');
  await running;
}

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cutover: ${(err as Error).message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

function warnAboutDevTokens(config: Config, log: pino.Logger): void {
  const dev = config.auth.principals.filter((p) => p.tokenSource === 'devDefault').map((p) => p.principal);
  if (dev.length) log.warn({ principals: dev }, 'using the development tokens from the config file; set the token variables for anything but a laptop');
}

main().catch((err) => {
  process.stderr.write(`cutover: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
