/**
 * The production worker (`node --import tsx src/bin/worker.ts`; deploy/
 * kubernetes runs as many as load needs): polls the task queue of the
 * Temporal cluster TEMPORAL_ADDRESS names and runs the upgrades' workflows
 * and activities. With CUTOVER_WORKER_METRICS it serves, on that one
 * listener, cutover's own metrics (the workflows', the analysis') followed by
 * the Temporal SDK's. SIGTERM lets the running activities finish and stops.
 * It runs no sandbox: a target placed `local` is npm start's alone.
 */
import { newRegistry } from '../api/metrics';
import { freePort } from '../runtime/freePort';
import { serveMetrics } from '../runtime/metricsListener';
import { clusterAddressOrExit, connectClient, installSdkRuntime, newLogger, readConfigOrExit, runStopping, startWorker } from '../runtime/start';
import { Stopper } from '../runtime/stopper';

const PROGRAM = 'cutover worker';

async function main(): Promise<void> {
  const config = readConfigOrExit(PROGRAM, { api: false });
  const address = clusterAddressOrExit(PROGRAM, config);
  const log = newLogger(config);
  const listen = config.env.workerMetrics;
  // The SDK serves its metrics on loopback; the worker's own listener passes them on after cutover's.
  const sdkMetrics = listen ? `127.0.0.1:${await freePort()}` : undefined;
  installSdkRuntime(config, sdkMetrics, log);
  const stopper = new Stopper(log, () => undefined);
  await runStopping(stopper, async () => {
    const options = { ...config.env.temporal.connection, address };
    const client = await connectClient(config, options, stopper, log, true);
    const registry = newRegistry();
    if (listen) {
      const server = await serveMetrics(listen, registry, async () => (await fetch(`http://${sdkMetrics}/metrics`)).text());
      stopper.add('metrics listener', () => new Promise((resolve) => server.close(resolve)));
    }
    const worker = await startWorker(config, options, stopper, { temporal: client, prometheusUrl: config.env.prometheusUrl }, registry);
    log.info({ address, namespace: config.env.temporal.namespace, taskQueue: config.env.temporal.taskQueue, metrics: listen }, 'worker started');
    return worker;
  });
}

main().catch((err) => {
  process.stderr.write(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
