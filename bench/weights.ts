/**
 * Bench section "weights": the time from a traffic step's decision (the
 * setWeights activity called) to nginx serving the new weights, on the local
 * platform with HTTP echo nodes behind nginx's weighted upstream: each run
 * flips all traffic between blue and green and polls through nginx until
 * the first answer comes from the release that now has it. Temporal's own
 * scheduling of the activity (a few ms on the dev server) is not included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalPlatformActivities } from '../src/activities/platforms/local';
import { targetLookup, type TargetConfig } from '../src/config/targets';
import { freePort } from '../src/runtime/freePort';
import { LocalSandbox } from '../src/sandbox/localSandbox';
import { exec } from '../test/support/activityHarness';
import { echoSandbox } from '../test/support/echoSandbox';
import { latency, type BenchSection } from './section';

const RUNS = Number(process.env.BENCH_WEIGHT_RUNS ?? 20);
const TARGET = 'bench-web';
const BLUE = 'bench-web-1-0-0';
const GREEN = 'bench-web-2-0-0';

function releaseAt(port: number, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${port}/`, { agent }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve((JSON.parse(text) as { release: string }).release));
    }).on('error', reject);
  });
}

async function run(): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cutover-bench-weights-'));
  const port = await freePort();
  const target = {
    name: TARGET,
    kind: 'emqx',
    local: { cluster: TARGET, version: '1.0.0', replicas: 2, ports: { http: port, status: await freePort() } },
  } as TargetConfig;
  const sandbox = new LocalSandbox({ target: TARGET, placement: target.local!, dataDir, kind: echoSandbox({ http: port }, join(dataDir, 'logs')) });
  const agent = new Agent({ keepAlive: false });
  try {
    await sandbox.start();
    const platform = createLocalPlatformActivities({ targets: targetLookup([target]), sandboxes: new Map([[TARGET, sandbox]]), pollMs: 100 });
    await exec(platform.ensureGreenWorkload, { target: TARGET, green: { name: GREEN, version: '2.0.0' }, replicas: 2 });
    await exec(platform.waitWorkloadReady, { target: TARGET, release: GREEN });
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const to = i % 2 === 0 ? GREEN : BLUE;
      const began = performance.now();
      await exec(platform.setWeights, { target: TARGET, weights: { [to]: 100 } });
      // nginx's old workers finish their connections: a fresh one must reach the new release
      while ((await releaseAt(port, agent)) !== to) await new Promise((r) => setTimeout(r, 2));
      ms.push(performance.now() - began);
    }
    return { what: 'setWeights called -> first request through nginx served by the release that now has all traffic', ...latency(ms) };
  } finally {
    agent.destroy();
    await sandbox.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const weightsBench: BenchSection = { name: 'weights', run };
