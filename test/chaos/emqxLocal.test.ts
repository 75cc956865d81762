/**
 * Faults ridden through, EMQX on the local platform: with 30% of the calls
 * to EMQX's REST API answered 503, 5% reset and the rest delayed up to
 * 300 ms (the run, which ended ROLLED_BACK in 10 s), the upgrade
 * ends SUCCEEDED; EMQX started each blue node's evacuation once, nginx moved
 * MQTT to green once, and each activity is in the history once (Temporal
 * retried them on the server).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { FaultInjector } from '../../src/sandbox/faultProxy';
import { connectSharedServer } from '../support/temporal';
import { expectFaultsInjected } from './expectations';
import { CHAOS, emqxLocal, SEEDS } from './upgrades';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await connectSharedServer();
});
afterAll(() => env?.teardown());

test('a 3-node upgrade through a flaky EMQX API: SUCCEEDED, each evacuation started once, MQTT switched once', async () => {
  const faults = new FaultInjector(CHAOS, SEEDS.emqxLocal);
  try {
    const r = await emqxLocal(env, faults);
    process.stdout.write(`chaos emqx local: ${r.final.status} in ${r.ms} ms, faults ${JSON.stringify(r.faults)}, history ${JSON.stringify(r.history)}\n`);
    expect(r.final.status).toBe('SUCCEEDED');
    expect(r.final.failure).toBeUndefined();
    expectFaultsInjected(r);
    const blue = r.final.releases.blue!.name;
    expect(r.seen.evacuationsStarted).toEqual({ [`emqx@${blue}-0`]: 1, [`emqx@${blue}-1`]: 1, [`emqx@${blue}-2`]: 1 });
    expect(r.seen.routedTo).toEqual(['blue', 'green']);
  } finally {
    await faults.close();
  }
}, 240_000);
