/**
 * `npm start`: the embedded default (a Temporal dev server with its history in
 * .data/, unless TEMPORAL_ADDRESS names a cluster), the local sandboxes of the
 * targets placed `local` (EMQX nodes behind nginx, brought back to their
 * recorded state), a Prometheus scraping cutover, the worker and the
 * sandboxes (unless CUTOVER_PROMETHEUS_URL names one), one worker and the API.
 * Ctrl-C stops every process it started (see runtime/stopper.ts).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { newRegistry } from './api/metrics';
import { buildServer } from './api/server';
import { ConfigError } from './config/schemaErrors';
import { loadConfig, type Config, type Role } from './config/file';
import { projectRoot } from './runtime/binaries';
import { startDevServer, type DevServer } from './runtime/devServer';
import { freePort, portIsFree } from './runtime/freePort';
import { takeOverDataDir } from './runtime/leftovers';
import { describePortTaken } from './runtime/processes';
import { startPrometheus, type PrometheusServer } from './runtime/prometheus';
import { ensureSearchAttributes } from './runtime/searchAttributes';
import { Stopper } from './runtime/stopper';
import { createWorker } from './runtime/worker';
import { kindModule } from './domain/kindRegistry';
import { createLocalSandboxes } from './sandbox';
import type { LocalSandbox } from './sandbox/localSandbox';

const DEV_PORT = Number(process.env.CUTOVER_DEV_TEMPORAL_PORT ?? 7233);
const DEV_UI_PORT = Number(process.env.CUTOVER_DEV_TEMPORAL_UI_PORT ?? DEV_PORT + 1000);
/** Taken: Prometheus gets a free port instead (npm start prints it). */
const DEV_PROMETHEUS_PORT = Number(process.env.CUTOVER_DEV_PROMETHEUS_PORT ?? 9090);

async function main(): Promise<void> {
  const config = readConfig();
  const log = pino({ level: config.env.logLevel, base: { service: 'cutover' } });
  // The embedded default serves the worker's SDK metrics to its own Prometheus.
  const workerMetrics = config.env.workerMetrics ?? (config.env.temporal.address ? undefined : `127.0.0.1:${await freePort()}`);
  Runtime.install({
    logger: new DefaultLogger(config.env.logLevel === 'debug' ? 'INFO' : 'WARN'),
    // The Stopper below shuts the worker down, in its turn, not the SDK on its own.
    shutdownSignals: [],
    ...(workerMetrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: workerMetrics } } } } : {}),
  });

  let address = config.env.temporal.address;
  const dataDir = resolve(config.env.dataDir ?? join(projectRoot, '.data'));
  // The sandboxes run in this process, so only the embedded default serves local targets.
  const sandboxes = address ? new Map<string, LocalSandbox>() : createLocalSandboxes(config.targets, dataDir);
  // A forced exit stops no child; nginx would outlive a signal sent to this process alone (kill <pid>) and keep the ports.
  const stopper = new Stopper(log, () => {
    for (const s of sandboxes.values()) {
      const pid = s.nginx.pid();
      if (pid) process.kill(pid, 'SIGTERM');
    }
  });
  stopper.onSignals();
  try {
    let dev: DevServer | undefined;
    if (!address) {
      mkdirSync(dataDir, { recursive: true });
      const left = await takeOverDataDir(dataDir);
      if (left.length) log.warn({ stopped: left }, 'stopped what an earlier npm start (killed, not stopped) left running');
      for (const s of sandboxes.values()) await s.nginx.stop();
      await checkPortsFree(config, sandboxes);
      log.info({ port: DEV_PORT, uiPort: DEV_UI_PORT }, 'starting the embedded Temporal dev server');
      dev = await startDevServer({ port: DEV_PORT, uiPort: DEV_UI_PORT, dbFile: join(dataDir, 'temporal.sqlite'), namespace: config.env.temporal.namespace });
      stopper.add('Temporal dev server', () => dev!.stop());
      address = dev.address;
      config.env.temporal.uiUrl ??= dev.uiUrl;
    }
    let prometheus: PrometheusServer | undefined;
    if (dev && !config.env.prometheusUrl) {
      prometheus = await startPrometheus({ dir: join(dataDir, 'prometheus'), port: DEV_PROMETHEUS_PORT });
      stopper.add('Prometheus', () => prometheus!.stop());
      prometheus.setTargets('cutover', [`${config.env.api.host === '0.0.0.0' ? '127.0.0.1' : config.env.api.host}:${config.env.api.port}`]);
      prometheus.setTargets('temporal-worker', workerMetrics ? [workerMetrics] : []);
    }
    const prometheusUrl = config.env.prometheusUrl ?? prometheus?.url;
    const registry = newRegistry();

    // TLS, API key and metadata from Temporal's environment configuration; the embedded dev server wants none
    const options = dev ? { address } : { ...config.env.temporal.connection, address };
    const connection = await Connection.connect(options);
    stopper.add('Temporal connection', () => connection.close());
    if (!dev) {
      await ensureSearchAttributes(connection, config.env.temporal.namespace).then(
        (added) => added.length && log.info({ added }, 'registered search attributes'),
        (err) => log.warn({ err: String(err) }, 'could not register search attributes; register CutoverTarget, CutoverKind, CutoverStatus, CutoverPhase (Keyword) yourself'),
      );
    }
    const client = new Client({ connection, namespace: config.env.temporal.namespace });

    for (const sandbox of sandboxes.values()) {
      log.info({ target: sandbox.target }, 'starting the local sandbox (its recorded state, else its first release)');
      sandbox.scrapeWith((targets, metricsPath) => prometheus?.setTargets(sandbox.target, targets, { metricsPath, labels: { target: sandbox.target } }));
      stopper.add(`sandbox ${sandbox.target}`, () => sandbox.stop());
      await sandbox.start();
    }

    // CUTOVER_RUN: a cluster runs workers and API apart (deploy/kubernetes); npm start runs both
    let running: Promise<void> = new Promise(() => undefined);
    if (config.env.run !== 'api') {
      const workerConnection = await NativeConnection.connect(options);
      const worker = await createWorker(workerConnection, config, { sandboxes, prometheusUrl, temporal: client }, { registry });
      const run = worker.run();
      running = run;
      stopper.add('worker', async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await run;
        await workerConnection.close();
      });
    }

    if (config.env.run !== 'worker') {
      const app = await buildServer({ client, config, logger: log, registry });
      await app.listen({ host: config.env.api.host, port: config.env.api.port });
      stopper.add('API', () => app.close());
      warnAboutDevTokens(config, log);
    }
    stopper.up();
    printWelcome(config, address, sandboxes, prometheusUrl ? { url: prometheusUrl, ours: !!prometheus } : undefined);
    await running;
  } catch (err) {
    // A start that fails halfway stops what it had started; so does a Ctrl-C during the start (Stopping, or a part failing as the parts it needs stop).
    await stopper.stopAll();
    if (stopper.signalled) process.exit(0);
    throw err;
  }
}

/** Fails before anything starts when a port npm start needs is taken, naming the process that holds it. */
async function checkPortsFree(config: Config, sandboxes: ReadonlyMap<string, LocalSandbox>): Promise<void> {
  const wanted: [number, string][] = [
    [DEV_PORT, 'Temporal dev server, CUTOVER_DEV_TEMPORAL_PORT'],
    [DEV_UI_PORT, 'Temporal UI, CUTOVER_DEV_TEMPORAL_UI_PORT'],
    [config.env.api.port, 'API, CUTOVER_API_PORT'],
    ...config.targets.flatMap((t) =>
      sandboxes.has(t.name) ? Object.entries(t.local!.ports).map(([name, port]): [number, string] => [port, `sandbox ${t.name} ${name}, local.ports.${name} in the config`]) : [],
    ),
  ];
  const taken: string[] = [];
  for (const [port, what] of wanted) if (!(await portIsFree(port))) taken.push(describePortTaken(port, what));
  if (taken.length) throw new Error(`${taken.join('; ')}. Stop that, or pick other ports.`);
}

function printWelcome(config: Config, address: string, sandboxes: ReadonlyMap<string, LocalSandbox>, prometheus: { url: string; ours: boolean } | undefined): void {
  const api = `http://${config.env.api.host}:${config.env.api.port}`;
  const lines = [
    '',
    `cutover is up (task queue ${config.env.temporal.taskQueue}, Temporal at ${address})`,
    `  API docs:    ${api}/docs`,
    config.env.temporal.uiUrl ? `  Temporal UI: ${config.env.temporal.uiUrl}` : undefined,
    prometheus ? `  Prometheus:  ${prometheus.url}${prometheus.ours ? " (scraping cutover's /metrics, the worker's SDK metrics and the sandboxes' own)" : ''}` : undefined,
    `  targets:     ${config.targets.map((t) => `${t.name} (${t.kind})`).join(', ')}`,
    ...[...sandboxes.values()].map((s) => `  sandbox:     ${s.target}: ${s.kind.describe()}`),
    '',
    ...upgradeCommand(config, api, sandboxes),
    '',
    'Ctrl-C stops everything.',
  ];
  process.stdout.write(lines.filter((l) => l !== undefined).join('\n') + '\n');
}

/** The development token of a role, printed only while it is the one in use; else a placeholder. */
const tokenFor = (config: Config, role: Role): string =>
  config.auth.principals.find((p) => p.roles.includes(role) && p.tokenSource === 'devDefault')?.token ?? `<${role} token>`;

/** Per sandbox (else for the first target), the command that upgrades it, with its kind's quick options. */
function upgradeCommand(config: Config, api: string, sandboxes: ReadonlyMap<string, LocalSandbox>): string[] {
  const local = config.targets.filter((t) => sandboxes.has(t.name));
  const targets = local.length ? local : config.targets.slice(0, 1);
  return targets.flatMap((target) => {
    const upgrade = kindModule(target.kind).sandboxUpgrade;
    const version = upgrade?.version ?? '<version>';
    const body = { kind: target.kind, target: target.name, version, ...(sandboxes.has(target.name) && upgrade ? { options: upgrade.options } : {}) };
    return [
      `Upgrade ${target.name} to ${version}${upgrade?.note ? ` (${upgrade.note})` : ''}:`,
      `  curl -s -X POST ${api}/v1/upgrades -H 'Authorization: Bearer ${tokenFor(config, 'operator')}' -H 'Content-Type: application/json' \\`,
      `    -d '${JSON.stringify(body)}'`,
      'and follow it:',
      `  curl -s -H 'Authorization: Bearer ${tokenFor(config, 'viewer')}' '${api}/v1/upgrades?target=${target.name}'`,
    ];
  });
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
