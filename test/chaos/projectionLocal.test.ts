/**
 * Faults ridden through, an event-sourced service on the local platform: 30%
 * of the catch-up reads from the projection service answered 503, 5% reset,
 * the rest delayed up to 300 ms, and the same for the worker's connections
 * to the releases' PostgreSQL (green's database created, blue's dropped).
 * The upgrade ends SUCCEEDED; PostgreSQL created green's database once, and
 * nginx moved the queries to green once.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { FaultInjector } from '../../src/sandbox/faultProxy';
import { connectSharedServer } from '../support/temporal';
import { expectFaultsInjected } from './expectations';
import { CHAOS, projectionLocal, SEEDS } from './upgrades';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await connectSharedServer();
});
afterAll(() => env?.teardown());

test('1.4.0 -> 2.0.0 through a flaky catch-up endpoint and a flaky database: SUCCEEDED, green database created once, queries switched once', async () => {
  const faults = new FaultInjector(CHAOS, SEEDS.projectionLocal);
  try {
    const r = await projectionLocal(env, faults);
    process.stdout.write(`chaos projection local: ${r.final.status} in ${r.ms} ms, faults ${JSON.stringify(r.faults)}, history ${JSON.stringify(r.history)}\n`);
    expect(r.final.status).toBe('SUCCEEDED');
    expect(r.final.failure).toBeUndefined();
    expectFaultsInjected(r);
    expect(r.seen.greenDatabaseCreated).toBe(1);
    expect(r.seen.routedTo).toEqual(['blue', 'green']);
  } finally {
    await faults.close();
  }
}, 240_000);
