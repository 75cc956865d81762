/**
 * A test file's worker on the shared dev server running the skeleton with the
 * scripted strategy: registers its own beforeAll/afterAll. `more` adds
 * activities (e.g. the real runAnalysis) with what they need started first.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { UpgradeInput } from '../../src/domain/upgrade';
import { ScriptedWorld } from './scriptedWorld';
import { connectSharedServer, startUpgrade, startWorker, uniqueId, type RunningWorker } from './temporal';

export interface ScriptedSuite {
  readonly world: ScriptedWorld;
  readonly taskQueue: string;
  /** Set once beforeAll has run. */
  env: TestWorkflowEnvironment;
  start(input: UpgradeInput): Promise<WorkflowHandle>;
}

export function scriptedSuite(prefix: string, more?: () => Promise<{ activities: object; close(): Promise<void> }>): ScriptedSuite {
  const world = new ScriptedWorld();
  const taskQueue = uniqueId(prefix);
  let worker: RunningWorker | undefined;
  let extra: { activities: object; close(): Promise<void> } | undefined;
  const suite: ScriptedSuite = {
    world,
    taskQueue,
    env: undefined as unknown as TestWorkflowEnvironment,
    start: (input) => startUpgrade(suite.env, taskQueue, input),
  };
  beforeAll(async () => {
    suite.env = await connectSharedServer();
    extra = await more?.();
    worker = await startWorker(suite.env, taskQueue, { ...world.activities(suite.env.client), ...extra?.activities });
  });
  afterAll(async () => {
    await worker?.stop();
    await extra?.close();
    await suite.env?.teardown();
  });
  return suite;
}
