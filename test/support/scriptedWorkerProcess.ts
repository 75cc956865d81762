/**
 * A worker in a process of its own, so a test can kill it outright (SIGKILL)
 * in the middle of an upgrade. Args: taskQueue, journal path, [target/step to hold].
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import type { Step } from '../../src/domain/upgrade';
import { ScriptedWorld } from './scriptedWorld';
import { createWorkflowMetricsSinks } from '../../src/runtime/workflowMetrics';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const [taskQueue, journal, hold] = process.argv.slice(2);
  const world = new ScriptedWorld(journal);
  if (hold) {
    const [target, step] = hold.split('/');
    world.hold(target, step as Step);
  }
  const connection = await NativeConnection.connect({ address: process.env.CUTOVER_TEST_TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath: process.env.CUTOVER_TEST_WORKFLOW_BUNDLE! },
    activities: world.activities(),
    sinks: createWorkflowMetricsSinks(new Registry()),
  });
  process.stdout.write('ready\n');
  await worker.run();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
