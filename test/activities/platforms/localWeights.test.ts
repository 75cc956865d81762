/**
 * Weighted traffic on the local platform: setWeights, through the sandbox's
 * nginx router, rewrites the http upstream it owns with weight= per node and
 * reloads; the requests that go through nginx split as asked, whatever the
 * number of nodes per release, and the weights read back from what nginx's
 * workers run are those asked for.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, get } from 'node:http';
import { createPlatformActivities } from '../../../src/activities/platforms';
import { targetLookup, type TargetConfig } from '../../../src/config/targets';
import { releaseName } from '../../../src/domain/upgrade';
import { freePort } from '../../../src/runtime/freePort';
import { LocalSandbox } from '../../../src/sandbox/localSandbox';
import { echoSandbox } from '../../support/echoSandbox';
import { exec } from '../../support/emqxSandbox';

const TARGET = 'web';
const BLUE = releaseName(TARGET, '1.0.0');
const GREEN = releaseName(TARGET, '2.0.0');
let sandbox: LocalSandbox;
let port: number;
let platform: ReturnType<typeof createPlatformActivities>;
const scraped: { targets: string[]; path: string }[] = [];

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cutover-weights-'));
  port = await freePort();
  const target = {
    name: TARGET,
    kind: 'emqx',
    local: { cluster: 'web', version: '1.0.0', replicas: 2, ports: { http: port, status: await freePort() } },
  } as TargetConfig;
  sandbox = new LocalSandbox({ target: TARGET, placement: target.local!, dataDir, kind: echoSandbox({ http: port }, join(dataDir, 'logs')) });
  sandbox.scrapeWith((targets, path) => scraped.push({ targets, path }));
  await sandbox.start();
  platform = createPlatformActivities({ targets: targetLookup([target]), sandboxes: new Map([[TARGET, sandbox]]), pollMs: 100 });
  await exec(platform.ensureGreenWorkload, { target: TARGET, green: { name: GREEN, version: '2.0.0' }, replicas: 3 });
  await exec(platform.waitWorkloadReady, { target: TARGET, release: GREEN });
}, 60_000);
afterAll(() => sandbox?.stop());

/** Each request on a fresh connection, so nginx picks an upstream server per request. */
async function split(n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const agent = new Agent({ keepAlive: false });
  for (let i = 0; i < n; i++) {
    const body = await new Promise<string>((resolve, reject) => {
      get(`http://127.0.0.1:${port}/`, { agent }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    const { release } = JSON.parse(body) as { release: string };
    counts[release] = (counts[release] ?? 0) + 1;
  }
  agent.destroy();
  return counts;
}

test("Prometheus is told every node's metrics endpoint after each change", () => {
  const last = scraped[scraped.length - 1]!;
  expect(last.path).toBe('/metrics');
  expect(last.targets).toHaveLength(5); // 2 blue nodes, 3 green
  for (const t of last.targets) expect(t).toMatch(/^127\.0\.0\.1:\d+$/);
});

test('10/90 on nginx: 1,000 requests split 10% +- 3%; then all on green; the same weights twice change nothing', async () => {
  const tenOnGreen = { served: { [BLUE]: 90, [GREEN]: 10 }, readiness: expect.stringContaining("'s workers run config generation") };
  expect(await exec(platform.setWeights, { target: TARGET, weights: { [BLUE]: 90, [GREEN]: 10 } })).toEqual({ changed: true, ...tenOnGreen });
  expect(await exec(platform.setWeights, { target: TARGET, weights: { [BLUE]: 90, [GREEN]: 10 } })).toEqual({ changed: false, ...tenOnGreen });
  const counts = await split(1000);
  expect(counts[GREEN]! / 1000).toBeGreaterThanOrEqual(0.07);
  expect(counts[GREEN]! / 1000).toBeLessThanOrEqual(0.13);
  expect(counts[BLUE]! + counts[GREEN]!).toBe(1000);

  expect(await exec(platform.setWeights, { target: TARGET, weights: { [BLUE]: 0, [GREEN]: 100 } })).toMatchObject({ changed: true, served: { [GREEN]: 100 } });
  expect(await split(50)).toEqual({ [GREEN]: 50 });
  expect(await exec(platform.readBlueRelease, { target: TARGET })).toMatchObject({ name: GREEN });
});

test('weights that do not sum to 100 are refused before anything changes', async () => {
  await expect(exec(platform.setWeights, { target: TARGET, weights: { [BLUE]: 50, [GREEN]: 40 } })).rejects.toMatchObject({ type: 'Invalid', nonRetryable: true });
  await expect(exec(platform.setWeights, { target: TARGET, weights: { 'web-9-9-9': 100 } })).rejects.toMatchObject({ type: 'NotFound' });
});
