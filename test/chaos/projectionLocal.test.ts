/**
 * Faults ridden through, an event-sourced service on the local platform: 30%
 * of the catch-up reads from the projection service answered 503, 5% reset,
 * the rest delayed up to 300 ms, and the same for the worker's connections
 * to the releases' PostgreSQL (green's database created, blue's dropped).
 * The upgrade ends SUCCEEDED; PostgreSQL created green's database once, and
 * nginx moved the queries to green once.
 */
import { envForThisFile, succeedsThroughFaults } from './harness';
import { projectionLocal, SEEDS } from './upgrades';

const env = envForThisFile();

test('1.4.0 -> 2.0.0 through a flaky catch-up endpoint and a flaky database: SUCCEEDED, green database created once, queries switched once', async () => {
  const r = await succeedsThroughFaults('chaos projection local', SEEDS.projectionLocal, (faults) => projectionLocal(env(), faults));
  expect(r.seen.greenDatabaseCreated).toBe(1);
  expect(r.seen.routedTo).toEqual(['blue', 'green']);
}, 240_000);
