/**
 * A worker in a process of its own, so a test can kill it outright (SIGKILL)
 * in the middle of an upgrade. Args: taskQueue, journal path, [target/step to hold].
 */
import type { Step } from '../../src/domain/upgrade';
import { ScriptedWorld } from './scriptedWorld';
import { runWorkerProcess } from './workerProcess';

const [taskQueue, journal, hold] = process.argv.slice(2);
const world = new ScriptedWorld(journal);
if (hold) {
  const [target, step] = hold.split('/');
  world.hold(target, step as Step);
}
runWorkerProcess({ taskQueue, workflowBundle: { codePath: process.env.CUTOVER_TEST_WORKFLOW_BUNDLE! }, activities: (temporal) => world.activities(temporal) });
