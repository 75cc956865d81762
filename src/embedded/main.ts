/**
 * `npm start`: the embedded default. A Temporal dev server with its history in
 * .data/ (unless TEMPORAL_ADDRESS names a cluster), the local sandboxes of the
 * targets placed `local` (brought back to their recorded state), a Prometheus
 * scraping cutover, the worker and the sandboxes (unless
 * CUTOVER_PROMETHEUS_URL names one), then one worker and the API in this
 * process. Ctrl-C stops every process it started, last started first: the
 * API, the worker, the sandboxes, Prometheus, the dev server (see
 * runtime/stopper.ts); the servers are apart from the terminal's Ctrl-C and
 * are started again when they die (supervise.ts).
 * Production runs src/bin/worker.ts and src/bin/api.ts instead, which import
 * nothing of this folder, the sandboxes or the demo.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { newRegistry } from '../api/metrics';
import type { Config } from '../config/file';
import { projectRoot } from '../runtime/binaries';
import { freePort, portIsFree } from '../runtime/freePort';
import { describePortTaken } from '../runtime/processes';
import { connectClient, installSdkRuntime, newLogger, readConfigOrExit, runStopping, startApi, startWorker } from '../runtime/start';
import { Stopper } from '../runtime/stopper';
import { createLocalSandboxes } from '../sandbox';
import type { LocalSandbox } from '../sandbox/localSandbox';
import { startDevServer } from './devServer';
import { takeOverDataDir } from './leftovers';
import { startPrometheus, type PrometheusServer } from './prometheus';
import { supervise } from './supervise';
import { printWelcome } from './welcome';

const DEV_PORT = Number(process.env.CUTOVER_DEV_TEMPORAL_PORT ?? 7233);
const DEV_UI_PORT = Number(process.env.CUTOVER_DEV_TEMPORAL_UI_PORT ?? DEV_PORT + 1000);
/** Taken: Prometheus gets a free port instead (npm start prints it). */
const DEV_PROMETHEUS_PORT = Number(process.env.CUTOVER_DEV_PROMETHEUS_PORT ?? 9090);

async function main(): Promise<void> {
  const config = readConfigOrExit('cutover');
  const log = newLogger(config, { pretty: !!process.stdout.isTTY });
  // The embedded default serves the worker's SDK metrics to its own Prometheus.
  const workerMetrics = config.env.workerMetrics ?? (config.env.temporal.address ? undefined : `127.0.0.1:${await freePort()}`);
  installSdkRuntime(config, workerMetrics, log);

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
  let prometheus: PrometheusServer | undefined;
  await runStopping(
    stopper,
    async () => {
      const embedded = !address;
      if (embedded) {
        mkdirSync(dataDir, { recursive: true });
        const left = await takeOverDataDir(dataDir);
        if (left.length) log.warn({ stopped: left }, 'stopped what an earlier npm start (killed, not stopped) left running');
        for (const s of sandboxes.values()) await s.nginx.stop();
        await checkPortsFree(config, sandboxes);
        log.info({ port: DEV_PORT, uiPort: DEV_UI_PORT }, 'starting the embedded Temporal dev server');
        // the same ports and history file at every restart: the worker and the API reconnect by themselves
        const dev = await supervise(
          'the Temporal dev server',
          () => startDevServer({ port: DEV_PORT, uiPort: DEV_UI_PORT, dbFile: join(dataDir, 'temporal.sqlite'), namespace: config.env.temporal.namespace }),
          log,
        );
        stopper.add('Temporal dev server', () => dev.stop());
        address = dev.current().address;
        config.env.temporal.uiUrl ??= dev.current().uiUrl;
        if (!config.env.prometheusUrl) {
          // its target files stay; a restart asks for the port it had
          const started = await supervise('Prometheus', () => startPrometheus({ dir: join(dataDir, 'prometheus'), port: prometheus ? Number(new URL(prometheus.url).port) : DEV_PROMETHEUS_PORT }), log);
          prometheus = started.current();
          stopper.add('Prometheus', () => started.stop());
          prometheus.setTargets('cutover', [`${config.env.api.host === '0.0.0.0' ? '127.0.0.1' : config.env.api.host}:${config.env.api.port}`]);
          prometheus.setTargets('temporal-worker', workerMetrics ? [workerMetrics] : []);
        }
      }
      const registry = newRegistry();
      // TLS, API key and metadata from Temporal's environment configuration; the embedded dev server wants none
      const options = embedded ? { address } : { ...config.env.temporal.connection, address };
      // the dev server gets the search attributes as start arguments
      const client = await connectClient(config, options, stopper, log, !embedded);

      for (const sandbox of sandboxes.values()) {
        log.info({ target: sandbox.target }, 'starting the local sandbox (its recorded state, else its first release)');
        sandbox.scrapeWith((targets, metricsPath) => prometheus?.setTargets(sandbox.target, targets, { metricsPath, labels: { target: sandbox.target } }));
        stopper.add(`sandbox ${sandbox.target}`, () => sandbox.stop());
        await sandbox.start();
        sandbox.superviseNodes(log);
      }

      const prometheusUrl = config.env.prometheusUrl ?? prometheus?.url;
      const worker = await startWorker(config, options, stopper, { sandboxes, prometheusUrl, temporal: client }, registry);
      // the workflows' and the analysis' metrics go to the API's /metrics: one process, one registry
      await startApi(config, client, stopper, log, registry);
      return worker;
    },
    () => {
      const prometheusUrl = config.env.prometheusUrl ?? prometheus?.url;
      printWelcome(config, address!, sandboxes, prometheusUrl ? { url: prometheusUrl, ours: !!prometheus } : undefined);
    },
  );
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

main().catch((err) => {
  process.stderr.write(`cutover: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
