/**
 * The stand-ins against the contract fixtures: set up in each fixture's
 * cluster state, the test suite's EMQX API and a sandbox EMQX node (a real
 * node process on its backplane) must give, request by request, what the
 * real EMQX of that version and edition gives (test/fixtures/contracts/emqx).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState } from '../../../src/sandbox/emqx/backplane';
import { startSandboxCluster, type SandboxCluster } from '../../../src/sandbox/emqx/launcher';
import { startEvacuation } from '../../../src/sandbox/emqx/evacuation';
import { EmqxApiServer } from '../../support/emqxApiServer';
import { differences, loadFixtures, type Exchange, type Fixture } from '../../support/emqxContract';

const KEY = 'contract-key';
const SECRET = 'contract-secret';
const fixtures = loadFixtures();

async function transcript(url: string, f: Fixture, key: string, secret: string): Promise<string[]> {
  const authorization = `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
  const out: string[] = [];
  for (const e of f.exchanges) {
    const res = await fetch(`${url}${e.request.path}`, {
      method: e.request.method,
      headers: { authorization, accept: 'application/json', ...(e.request.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: e.request.body === undefined ? undefined : JSON.stringify(e.request.body),
    });
    const text = await res.text();
    const diff = differences(e as Exchange, { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined });
    if (diff.length) out.push(`${e.name} (${e.request.method} ${e.request.path}):\n  ${diff.join('\n  ')}`);
  }
  return out;
}

test('the fixtures cover every contract, both editions before 5.9, and name their sources', () => {
  expect([...new Set(fixtures.map((f) => f.contract))]).toEqual(['5.1.0', '5.1.1', '5.2.0', '5.4.0', '5.6.0', '5.9.0']);
  for (const f of fixtures) for (const e of f.exchanges) expect(e.source).toMatch(/@[ve]5\.\d+\.\d+ L\d+-\d+/);
  expect(fixtures.filter((f) => f.file.includes('without-evacuation')).map((f) => f.contract)).toEqual(['5.1.0', '5.1.1', '5.2.0', '5.4.0', '5.6.0']);
});

describe('the test suite EMQX API answers as the fixtures say', () => {
  test.each(fixtures.map((f) => [f.file, f]))('%s', async (_file, f) => {
    const emqx = await EmqxApiServer.fromFixture(f.cluster);
    try {
      expect(await transcript(emqx.url, f, emqx.apiKey, emqx.apiSecret)).toEqual([]);
    } finally {
      await emqx.close();
    }
  });
});

describe('a sandbox EMQX node answers as the fixtures say', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'emqx-contract-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** One contract per edition: a node of that version answers, the rest of the cluster is written to its backplane. */
  const picks = fixtures.filter((f) => f.contract === '5.1.0' || f.contract === '5.6.0' || f.contract === '5.9.0');
  test.each(picks.map((f) => [f.file, f]))('%s', async (file, f) => {
    const { self, release, nodes } = f.cluster;
    let cluster: SandboxCluster | undefined;
    const state = () => ClusterState.connect(cluster!.backplane.url);
    let other: ClusterState | undefined;
    try {
      cluster = await startSandboxCluster({
        dir: join(dir, file.replace(/\W/g, '_')),
        nodes: [{ name: self, version: release.version, edition: release.edition }],
        apiKey: KEY,
        apiSecret: SECRET,
      });
      other = state();
      for (const n of nodes) {
        if (n.node !== self) {
          await other.join({ node: n.node, version: release.version, role: n.role, edition: release.edition, startedAt: Date.now(), apiUrl: '', mqttUrl: '' });
          if (n.status === 'running') await other.heartbeat(n.node, n.live ?? 0, 120_000);
        }
        for (let i = 0; i < (n.sessions ?? 0); i++) await other.claimSession(`${n.node}-client-${i}`, n.node);
        await other.setConditions(n.node, { unreachable: n.unreachable, agentBusy: n.agentBusy });
        if (n.evacuation) {
          const e = startEvacuation(n.evacuation, { now: Date.now(), live: n.evacuation.initialConns, sessions: n.evacuation.initialSessions });
          await other.startEvacuation(n.node, { ...e, state: n.evacuation.state, currentConns: n.live ?? 0, currentSessions: n.sessions ?? 0 });
        }
      }
      // The node's own live count is its clients': none connect here, so a fixture's self has none.
      expect(nodes.find((n) => n.node === self)?.live ?? 0).toBe(0);
      expect(await transcript(cluster.node(self).apiUrl, f, KEY, SECRET)).toEqual([]);
    } finally {
      await other?.close();
      await cluster?.stop();
    }
  }, 60_000);
});
