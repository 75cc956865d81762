/** Per-file test harness on the suite's shared dev server: a client, and workers on the prebuilt bundle. */
import { randomUUID } from 'node:crypto';
import { Runtime, DefaultLogger, Worker, type WorkerOptions } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { workerDefaults } from '../../src/runtime/workerDefaults';
import type { Kind, RecordedKindSettings } from '../../src/domain/kindRegistry';
import { upgradeWorkflowId, type Step, type UpgradeInput, type UpgradeState } from '../../src/domain/upgrade';
import { completeInput, type GivenOptions, type RecordedUpgradeInput } from '../../src/domain/upgradeSettings';
import { stateQuery } from '../../src/workflows/messages';
import { KIND, TARGET } from '../../src/workflows/searchAttributes';

Runtime.install({ logger: new DefaultLogger((process.env.CUTOVER_TEST_LOG_LEVEL as 'WARN') ?? 'ERROR') });

export function sharedServerAddress(): string {
  const address = process.env.CUTOVER_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('the jest global set-up did not start a Temporal dev server');
  return address;
}

export function connectSharedServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({ address: sharedServerAddress() });
}

/**
 * For a test file: the suite's dev server, connected before its tests and
 * let go after them, and clean-ups run after each test, last added first.
 */
export function sharedServerForFile(): { readonly env: TestWorkflowEnvironment; cleanups: (() => Promise<unknown>)[] } {
  let env: TestWorkflowEnvironment | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    env = await connectSharedServer();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => env?.teardown());
  return {
    get env() {
      if (!env) throw new Error('the dev server is connected in beforeAll');
      return env;
    },
    cleanups,
  };
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has shut down. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  activities: WorkerOptions['activities'],
  extra: Partial<WorkerOptions> = {},
): Promise<RunningWorker> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: process.env.CUTOVER_TEST_WORKFLOW_BUNDLE! },
    activities,
    shutdownGraceTime: '1 second',
    // as the real worker: the workflows call their metrics sinks
    ...workerDefaults(),
    ...extra,
  });
  const done = worker.run();
  return {
    worker,
    done,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * An upgrade's input as the API would start it: what a test gives (options and
 * the kind's settings in the workflow's units, only what matters to it)
 * completed by the same function that completes an input in flight.
 */
export function upgradeInput(
  overrides: Partial<Pick<UpgradeInput, 'kind' | 'target' | 'version' | 'image' | 'requestedBy' | 'reason' | 'policy'>> & {
    options?: GivenOptions;
    settings?: { [K in Kind]?: RecordedKindSettings<K> };
  } = {},
): UpgradeInput {
  const { options, ...rest } = overrides;
  const recorded = {
    kind: 'emqx',
    target: uniqueId('orders'),
    version: '2.0.0',
    requestedBy: 'alice',
    reason: 'test upgrade',
    ...rest,
    options: { approval: 'auto', standbyWindowMs: 1000, maxAttempts: 2, ...options },
  } as RecordedUpgradeInput;
  return completeInput(recorded);
}

export async function eventually<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Start the skeleton as the API does (workflow id per target, target and kind attributes). */
export function startUpgrade(env: TestWorkflowEnvironment, taskQueue: string, input: UpgradeInput): Promise<WorkflowHandle> {
  return env.client.workflow.start('blueGreenUpgrade', {
    taskQueue,
    workflowId: upgradeWorkflowId(input.target),
    args: [input],
    typedSearchAttributes: [
      { key: TARGET, value: input.target },
      { key: KIND, value: input.kind },
    ],
  });
}

export const upgradeState = (h: WorkflowHandle): Promise<UpgradeState> => h.query(stateQuery);
export const upgradeResult = (h: WorkflowHandle): Promise<UpgradeState> => h.result() as Promise<UpgradeState>;
export const reachesStep = (h: WorkflowHandle, step: Step): Promise<boolean> => eventually(async () => (await upgradeState(h)).step === step);
export const reachesStatus = (h: WorkflowHandle, status: UpgradeState['status']): Promise<boolean> =>
  eventually(async () => (await upgradeState(h)).status === status);
