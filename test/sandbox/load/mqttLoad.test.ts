/** The MQTT load tool's accounting on a small N, through its command line as `npm run load:mqtt` runs it. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../src/runtime/binaries';
import { startSandboxCluster, type SandboxCluster } from '../../../src/sandbox/emqx/launcher';
import { assertLoopback, runMqttLoad } from '../../../src/sandbox/load/mqttLoad';
import { clusterDir } from '../../support/emqxSandbox';

let cluster: SandboxCluster;
let dir: string;

beforeAll(async () => {
  dir = clusterDir('load');
  cluster = await startSandboxCluster({ dir, nodes: [{ name: 'emqx@load-0' }, { name: 'emqx@load-1' }] });
});
afterAll(() => cluster?.stop());

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox/load/main.ts', ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

test('counts every second: connected per node and in total, sent, received, lost and duplicated; a summary at the end', async () => {
  const file = join(dir, 'load.jsonl');
  const [a, b] = cluster.nodes;
  const { code, out } = await cli([
    ...['--clients', '8', '--rate', '40', '--duration', '3', '--drain', '5', '--out', file, '--prefix', 'cli'],
    ...['--url', a!.mqttUrl, '--api', b!.apiUrl, '--api-key', cluster.apiKey, '--api-secret', cluster.apiSecret],
  ]);
  expect({ code, out }).toMatchObject({ code: 0 });
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.pop()!.summary as Record<string, number>;
  expect(summary).toMatchObject({ clients: 8, rate: 40, lost: 0, duplicated: 0, minConnected: 8, minConnectedRatio: 1 });
  expect(summary.sent).toBeGreaterThanOrEqual(115);
  expect(summary.received).toBe(summary.sent);
  expect(lines.length).toBeGreaterThanOrEqual(3);
  for (const s of lines) {
    expect(s).toEqual({
      t: expect.any(Number),
      connected: 8,
      nodes: { 'emqx@load-0': 8, 'emqx@load-1': 0 },
      sent: expect.any(Number),
      acked: expect.any(Number),
      received: expect.any(Number),
      duplicated: 0,
      lost: 0,
    });
  }
  expect(lines.map((s) => s.sent)).toEqual([...lines.map((s) => s.sent)].sort((x, y) => (x as number) - (y as number)));
  expect(out).toMatch(/summary: .* lost 0, duplicated 0, min connected 8 \(100\.0%\)/);
});

test('messages nobody could receive count as lost, and the run still stops by itself', async () => {
  // Stop the only node mid-run: publishes after that are never acknowledged nor delivered.
  const solo = await startSandboxCluster({ dir: clusterDir('load-lost'), nodes: [{ name: 'emqx@lost-0' }] });
  try {
    const run = runMqttLoad({ clients: 4, rate: 20, urls: [solo.nodes[0]!.mqttUrl], durationSec: 3, drainSec: 1, clientPrefix: 'lost' });
    setTimeout(() => void solo.nodes[0]!.kill(), 1500);
    const { summary, samples } = await run;
    expect(summary.lost).toBeGreaterThan(10);
    expect(summary.lost).toBe(summary.sent - summary.received);
    expect(summary.minConnected).toBe(0);
    expect(samples[samples.length - 1]!.lost).toBeGreaterThan(0);
  } finally {
    await solo.stop();
  }
});

test('talks to no address but loopback', async () => {
  expect(() => assertLoopback('mqtt://10.0.0.1:1883')).toThrow(/only talks to 127\.0\.0\.1/);
  await expect(runMqttLoad({ clients: 1, rate: 1, urls: ['mqtt://example.com:1883'], durationSec: 1 })).rejects.toThrow(/only talks to 127\.0\.0\.1/);
});
