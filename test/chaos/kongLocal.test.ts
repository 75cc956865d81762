/**
 * Faults ridden through, Kong on the local platform: 30% of the calls to each
 * gateway node's status and Admin APIs answered 503, 5% reset, the rest
 * delayed up to 300 ms, and the same for the worker's connections to the
 * Kong database (the freeze, the fingerprint, pg_dump). The upgrade ends
 * SUCCEEDED; PostgreSQL ran `up`'s migration once, and nginx moved the
 * proxy's traffic to 50/50 and then to green, once each.
 */
import { envForThisFile, succeedsThroughFaults } from './harness';
import { kongLocal, SEEDS } from './upgrades';

const env = envForThisFile();

test('3.8.0 -> 3.9.0 through flaky node APIs and a flaky database: SUCCEEDED, `up` run once, each traffic change made once', async () => {
  const r = await succeedsThroughFaults('chaos kong local', SEEDS.kongLocal, (faults) => kongLocal(env(), faults));
  expect(r.seen.migrationsUp).toBe(1);
  expect(r.seen.routedTo).toEqual(['blue', 'blue+green', 'green']);
  // the backup went through the faults too, and was made once
  expect(r.final.details.backup).toMatchObject({ reused: false });
}, 240_000);
