/** What every chaos test file shares: the suite's dev server, and what every run through faults must show. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { FaultInjector } from '../../src/sandbox/faultProxy';
import { connectSharedServer } from '../support/temporal';
import { CHAOS, type UpgradeRun } from './upgrades';

/** The suite's dev server for this test file. */
export function envForThisFile(): () => TestWorkflowEnvironment {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    env = await connectSharedServer();
  });
  afterAll(() => env?.teardown());
  return () => env!;
}

/**
 * An upgrade through the faults of a seed: it ends SUCCEEDED, faults of every
 * sort reached it (503, a reset before forwarding, a reset after the upstream
 * answered), and none shows in its history: every activity completed, its
 * failed attempts retried by the activity or by Temporal, adding no event.
 */
export async function succeedsThroughFaults(label: string, seed: number, run: (faults: FaultInjector) => Promise<UpgradeRun>): Promise<UpgradeRun> {
  const faults = new FaultInjector(CHAOS, seed);
  try {
    const r = await run(faults);
    process.stdout.write(`${label}: ${r.final.status} in ${r.ms} ms, faults ${JSON.stringify(r.faults)}, history ${JSON.stringify(r.history)}\n`);
    expect(r.final.failure).toBeUndefined();
    expect(r.final.status).toBe('SUCCEEDED');
    expect(r.faults?.failed).toBeGreaterThan(0);
    expect(r.faults?.resetBefore).toBeGreaterThan(0);
    expect(r.faults?.resetAfter).toBeGreaterThan(0);
    expect(r.history.failed).toBe(0);
    return r;
  } finally {
    await faults.close();
  }
}
