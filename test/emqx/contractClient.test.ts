/**
 * cutover's production EMQX client against the contract fixtures: what the
 * real REST API answers, version by version (test/fixtures/contracts/emqx).
 */
import { createEmqxActivities } from '../../src/activities/emqx';
import { targetLookup } from '../../src/config/targets';
import { exec } from '../support/activityHarness';
import { fixture, FixtureServer, loadFixtures } from '../support/emqxContract';

const TARGET = 'mqtt';
let server: FixtureServer;
afterEach(() => server?.close());

async function activitiesFor(file: string) {
  server = await FixtureServer.start(fixture(file));
  return createEmqxActivities({
    targets: targetLookup([{ name: TARGET, kind: 'emqx', emqx: { apiUrl: server.url, apiKey: { env: 'K' }, apiSecret: { env: 'S' } } }]),
    env: { K: 'key', S: 'secret' },
  });
}

const forceLeaveFixtures = loadFixtures().filter((f) => f.file.includes('/force-leave.'));

test.each(forceLeaveFixtures.map((f) => [f.file, f]))('%s: a stopped core (404 on GET /nodes/{node}) is forced out of the cluster', async (file, f) => {
  const stopped = f.cluster.nodes.find((n) => n.status === 'stopped' && n.role === 'core')!.node;
  const a = await activitiesFor(file);
  expect(await exec(a.forgetNode, { target: TARGET, node: stopped })).toEqual({ removed: true });
  expect(server.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([`/api/v5/cluster/${stopped}/force_leave`]);
});
