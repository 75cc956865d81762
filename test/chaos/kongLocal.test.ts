/**
 * Faults ridden through, Kong on the local platform: 30% of the calls to each
 * gateway node's status and Admin APIs answered 503, 5% reset, the rest
 * delayed up to 300 ms, and the same for the worker's connections to the
 * Kong database (the freeze, the fingerprint, pg_dump). The upgrade ends
 * SUCCEEDED; PostgreSQL ran `up`'s migration once, and nginx moved the
 * proxy's traffic to 50/50 and then to green, once each.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { FaultInjector } from '../../src/sandbox/faultProxy';
import { connectSharedServer } from '../support/temporal';
import { expectFaultsInjected } from './expectations';
import { CHAOS, kongLocal, SEEDS } from './upgrades';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await connectSharedServer();
});
afterAll(() => env?.teardown());

test('3.8.0 -> 3.9.0 through flaky node APIs and a flaky database: SUCCEEDED, `up` run once, each traffic change made once', async () => {
  const faults = new FaultInjector(CHAOS, SEEDS.kongLocal);
  try {
    const r = await kongLocal(env, faults);
    process.stdout.write(`chaos kong local: ${r.final.status} in ${r.ms} ms, faults ${JSON.stringify(r.faults)}, history ${JSON.stringify(r.history)}\n`);
    expect(r.final.status).toBe('SUCCEEDED');
    expect(r.final.failure).toBeUndefined();
    expectFaultsInjected(r);
    expect(r.seen.migrationsUp).toBe(1);
    expect(r.seen.routedTo).toEqual(['blue', 'blue+green', 'green']);
    // the backup went through the faults too, and was made once
    expect(r.final.details.backup).toMatchObject({ reused: false });
  } finally {
    await faults.close();
  }
}, 240_000);
