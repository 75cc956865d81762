/**
 * cutover's production EMQX client against the contract fixtures: what the
 * real REST API answers, version by version (test/fixtures/contracts/emqx).
 * The fixture server answers only the requests a fixture holds, so a body
 * cutover sends that the real EMQX was not shown with fails here too.
 */
import { createEmqxActivities } from '../../../src/activities/emqx';
import { targetLookup } from '../../../src/config/targets';
import { exec, failure, run } from '../../support/activityHarness';
import { FixtureServer, loadFixtures, type Fixture } from '../../support/emqxContract';

const TARGET = 'mqtt';
let server: FixtureServer;
afterEach(() => server?.close());

async function activitiesFor(f: Fixture) {
  server = await FixtureServer.start(f);
  return createEmqxActivities({
    targets: targetLookup([{ name: TARGET, kind: 'emqx', emqx: { apiUrl: server.url, apiKey: { env: 'K' }, apiSecret: { env: 'S' } } }]),
    env: { K: 'key', S: 'secret' },
    pollMs: 2,
  });
}

const of = (kind: string) => loadFixtures().filter((f) => f.file.includes(`/${kind}.`));
const cases = (kind: string) => of(kind).map((f) => [f.file, f] as const);
const node = (f: Fixture, pick: (n: Fixture['cluster']['nodes'][number]) => boolean) => f.cluster.nodes.find(pick)!.node;

describe('membership', () => {
  test.each(cases('nodes'))('%s: health, the running release and the counts', async (_file, f) => {
    const a = await activitiesFor(f);
    const [replicant, core0, core1, stoppedCore, stoppedReplicant] = ['emqx@10.0.1.7', ...[0, 1, 2].map((i) => node(f, (n) => n.node.includes(`emqx-${i}.`))), 'emqx@10.0.1.8'];
    const health = await exec(a.clusterHealth, { target: TARGET, expectNodes: [core0!, replicant, stoppedCore!, stoppedReplicant] });
    expect(health.nodes.map((n) => [n.node, n.status, n.role])).toEqual([
      [core0, 'running', 'core'],
      [replicant, 'running', 'replicant'],
      [stoppedCore, 'stopped', 'core'],
      // mria forgets a stopped replicant: it is no member, and nothing is left to remove
      [stoppedReplicant, 'absent', null],
    ]);
    expect(health.members).toEqual([replicant, core0, core1, stoppedCore]);
    expect(await exec(a.clusterReleases, { target: TARGET })).toEqual([f.cluster.release]);
    expect(await exec(a.connectionCounts, { target: TARGET })).toEqual({
      total: { connections: 13, sessions: 15 },
      nodes: [
        { node: replicant, status: 'running', connections: 3, sessions: 3 },
        { node: core0, status: 'running', connections: 10, sessions: 12 },
        { node: core1, status: 'running', connections: 0, sessions: 0 },
        { node: stoppedCore, status: 'stopped', connections: 0, sessions: 0 },
      ],
    });
  });

  test.each(cases('force-leave'))('%s: a stopped core (404 on GET /nodes/{node}) is forced out of the cluster', async (_file, f) => {
    const stopped = node(f, (n) => n.status === 'stopped' && n.role === 'core');
    const a = await activitiesFor(f);
    expect(await exec(a.forgetNode, { target: TARGET, node: stopped })).toEqual({ removed: true });
    expect(server.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([`/api/v5/cluster/${stopped}/force_leave`]);
  });

  test.each(cases('force-leave'))('%s: a stopped replicant or an unknown node is no member; a running one is waited for', async (_file, f) => {
    const a = await activitiesFor(f);
    expect(await exec(a.forgetNode, { target: TARGET, node: 'emqx@10.0.1.8' })).toEqual({ removed: false });
    expect(await exec(a.forgetNode, { target: TARGET, node: 'emqx@nowhere.example' })).toEqual({ removed: false });
    expect(await failure(exec(a.forgetNode, { target: TARGET, node: f.cluster.self }))).toMatchObject({ type: 'NodeRunning', nonRetryable: false });
    // force_leave would make a running node leave while it runs: never sent
    expect(server.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  test('a field of another type fails naming EMQX, its version, the field and what was found', async () => {
    const f = structuredClone(of('nodes')[0]!);
    const listing = f.exchanges.find((e) => e.request.path === '/api/v5/nodes')!;
    (listing.response.body as Record<string, unknown>[])[1]!.live_connections = '10';
    const a = await activitiesFor(f);
    const err = await failure(exec(a.clusterHealth, { target: TARGET, expectNodes: [] }));
    expect(err).toMatchObject({ type: 'EmqxContract', nonRetryable: true });
    expect(err.message).toContain(`EMQX ${f.cluster.release.version} (${f.edition})`);
    expect(err.message).toContain('[1].live_connections: expected integer, found "10"');
  });
});

describe('evacuation', () => {
  const body = (f: Fixture) => f.exchanges.find((e) => e.name === 'started')!.request.body as { wait_takeover: number; wait_health_check: number; migrate_to: string[] };
  const input = (f: Fixture, n: string) => ({
    target: TARGET,
    node: n,
    connEvictRate: 10,
    sessEvictRate: 10,
    waitTakeoverMs: body(f).wait_takeover * 1000,
    waitHealthCheckMs: body(f).wait_health_check * 1000,
    migrateTo: body(f).migrate_to,
  });

  test.each(cases('evacuation'))('%s: started with the body the real EMQX takes, then stopped', async (_file, f) => {
    const a = await activitiesFor(f);
    const [b0, b1, b2] = [0, 1, 2].map((i) => node(f, (n) => n.node.startsWith(`emqx@emqx-${i}.`)));
    // a green node still starting is no recipient yet: try again
    expect(await failure(exec(a.startEvacuation, { ...input(f, b1!), migrateTo: [b2!] }))).toMatchObject({ type: 'RecipientsUnavailable', nonRetryable: false });
    // a stopped member comes back: try again
    expect(await failure(exec(a.startEvacuation, input(f, b2!)))).toMatchObject({ type: 'NodeNotRunning', nonRetryable: false });
    expect(await exec(a.startEvacuation, input(f, b1!))).toEqual({ alreadyStarted: false });
    expect(server.requests.filter((r) => r.method === 'POST').map((r) => r.body)[2]).toEqual(body(f));
    expect(await exec(a.startEvacuation, input(f, b1!))).toEqual({ alreadyStarted: true });
    expect(await exec(a.evacuationStatus, { target: TARGET })).toMatchObject([{ node: b1, state: 'waiting_health_check', session_recipients: body(f).migrate_to }]);
    if (f.contract >= '5.4.0') expect(await failure(exec(a.startEvacuation, input(f, b0!)))).toMatchObject({ type: 'EvacuationBusy', nonRetryable: false });
    else expect(await exec(a.startEvacuation, input(f, b0!))).toEqual({ alreadyStarted: false });
    expect(await exec(a.stopEvacuation, { target: TARGET, node: b1! })).toEqual({ wasEvacuating: true });
    expect(await exec(a.stopEvacuation, { target: TARGET, node: b1! })).toEqual({ wasEvacuating: false });
    expect(await exec(a.stopEvacuation, { target: TARGET, node: b2! })).toEqual({ wasEvacuating: false });
  });

  test.each(cases('without-evacuation'))('%s: the open source edition before 5.9 has no evacuation', async (_file, f) => {
    const a = await activitiesFor(f);
    expect(await failure(exec(a.startEvacuation, { target: TARGET, node: f.cluster.self, connEvictRate: 10, sessEvictRate: 10, waitTakeoverMs: 1000, waitHealthCheckMs: 1000, migrateTo: [] }))).toMatchObject({
      type: 'EvacuationUnavailable',
      nonRetryable: true,
    });
    expect(await exec(a.stopEvacuation, { target: TARGET, node: f.cluster.self })).toEqual({ wasEvacuating: false });
    expect(await exec(a.evacuationStatus, { target: TARGET })).toEqual([]);
  });

  test.each(cases('evacuation-in-progress'))('%s: a node missing from global_status because it cannot be reached is waited for, not failed', async (_file, f) => {
    const a = await activitiesFor(f);
    const [b0, b1] = [0, 1].map((i) => node(f, (n) => n.node.startsWith(`emqx@emqx-${i}.`)));
    expect(await exec(a.evacuationStatus, { target: TARGET })).toEqual([
      expect.objectContaining({ node: b1, state: 'evicting_conns', stats: { initial_connected: 40, current_connected: 25, initial_sessions: 60, current_sessions: 55 } }),
    ]);
    const waiting = run(a.waitEvacuated, { target: TARGET, node: b0!, pollMs: 2 });
    while (waiting.heartbeats.length < 5) await new Promise((r) => setTimeout(r, 5));
    expect(waiting.heartbeats[4]).toEqual({ node: b0, state: 'not running: its evacuation resumes when it runs again' });
    waiting.env.cancel();
    await expect(waiting.result).rejects.toThrow();
    // its RPC fails: 503, worth another try
    expect(await failure(exec(a.stopEvacuation, { target: TARGET, node: b0! }))).toMatchObject({ type: 'EmqxUnavailable', nonRetryable: false });
  });
});
