/**
 * What every worker process of the tests does (so a test can SIGKILL a
 * worker outright): connect to the suite's dev server, say "ready" on stdout,
 * run until killed.
 */
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { workerDefaults } from '../../src/runtime/workerDefaults';

/** activities: built on the worker's own connection, for those that talk to Temporal. */
export function runWorkerProcess({ activities, ...options }: Pick<WorkerOptions, 'taskQueue' | 'workflowBundle'> & { activities: (temporal: Client) => object }): void {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const run = async (): Promise<void> => {
    const connection = await NativeConnection.connect({ address: process.env.CUTOVER_TEST_TEMPORAL_ADDRESS });
    const worker = await Worker.create({ connection, ...workerDefaults(), ...options, activities: activities(new Client({ connection })) });
    process.stdout.write('ready\n');
    await worker.run();
  };
  run().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
