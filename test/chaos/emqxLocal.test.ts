/**
 * Faults ridden through, EMQX on the local platform: with 30% of the calls
 * to EMQX's REST API answered 503, 5% reset and the rest delayed up to
 * 300 ms (the run, which ended ROLLED_BACK in 10 s), the upgrade
 * ends SUCCEEDED; EMQX started each blue node's evacuation once, nginx moved
 * MQTT to green once, and each activity is in the history once (Temporal
 * retried them on the server).
 */
import { envForThisFile, succeedsThroughFaults } from './harness';
import { emqxLocal, SEEDS } from './upgrades';

const env = envForThisFile();

test('a 3-node upgrade through a flaky EMQX API: SUCCEEDED, each evacuation started once, MQTT switched once', async () => {
  const r = await succeedsThroughFaults('chaos emqx local', SEEDS.emqxLocal, (faults) => emqxLocal(env(), faults));
  const blue = r.final.releases.blue!.name;
  expect(r.seen.evacuationsStarted).toEqual({ [`emqx@${blue}-0`]: 1, [`emqx@${blue}-1`]: 1, [`emqx@${blue}-2`]: 1 });
  expect(r.seen.routedTo).toEqual(['blue', 'green']);
}, 240_000);
