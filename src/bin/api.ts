/**
 * The production API (`node --import tsx src/bin/api.ts`): the HTTP API in
 * front of the Temporal cluster TEMPORAL_ADDRESS names, listening on
 * CUTOVER_API_HOST:CUTOVER_API_PORT. It reaches no target: it starts, reads
 * and steers upgrades through Temporal. SIGTERM stops it.
 */
import { newRegistry } from '../api/metrics';
import { clusterAddressOrExit, connectClient, installSdkRuntime, newLogger, readConfigOrExit, runStopping, startApi } from '../runtime/start';
import { Stopper } from '../runtime/stopper';

const PROGRAM = 'cutover api';

async function main(): Promise<void> {
  const config = readConfigOrExit(PROGRAM, { worker: false });
  const address = clusterAddressOrExit(PROGRAM, config);
  const log = newLogger(config);
  installSdkRuntime(config, undefined, log);
  const stopper = new Stopper(log, () => undefined);
  await runStopping(stopper, async () => {
    const client = await connectClient(config, { ...config.env.temporal.connection, address }, stopper, log, true);
    await startApi(config, client, stopper, log, newRegistry());
    log.info({ listen: `${config.env.api.host}:${config.env.api.port}`, address, namespace: config.env.temporal.namespace }, 'API started');
    // the API runs until a signal stops it
    return { running: new Promise<never>(() => undefined) };
  });
}

main().catch((err) => {
  process.stderr.write(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
