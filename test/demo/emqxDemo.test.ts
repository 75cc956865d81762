/**
 * `npm run demo` at a smaller N on the stack of `npm start` built in-process
 * (local sandbox behind nginx, worker with the real activities, the API on a
 * loopback port): an upgrade with no QoS 1 message lost, the dip within 2% of
 * N and evictions at the requested rate; then a rollback in drainBlue that
 * puts every client back on the old nodes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { runEmqxDemo, type EmqxDemoOptions } from '../../src/demo/emqxDemo';
import { releaseName } from '../../src/domain/upgrade';
import { SANDBOX_API_KEY, SANDBOX_API_SECRET } from '../../src/sandbox/emqx/launcher';
import { testConfig, testServer, TOKENS } from '../api/harness';
import { connectSharedServer } from '../support/temporal';
import { clusterDir } from '../support/emqxSandbox';
import { startLocalStack, type LocalStack } from '../support/localStack';

const N = 150;
// Under 2% of N per one-second batch: at most that many reconnect at once, so the total stays at or above 98% with a client to spare.
const EVICT_RATE = 2;

let env: TestWorkflowEnvironment;
let stack: LocalStack;
let app: FastifyInstance;
let options: EmqxDemoOptions;

beforeAll(async () => {
  env = await connectSharedServer();
  stack = await startLocalStack(env, 'demo');
  app = await testServer(env.client, testConfig([stack.target], stack.taskQueue));
  await app.listen({ host: '127.0.0.1', port: 0 });
  options = {
    apiUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    operatorToken: TOKENS.operator,
    viewerToken: TOKENS.viewer,
    target: stack.name,
    mqttUrl: `mqtt://127.0.0.1:${stack.target.local!.ports.mqtt}`,
    emqxApiUrl: stack.target.emqx!.apiUrl,
    emqxApiKey: SANDBOX_API_KEY,
    emqxApiSecret: SANDBOX_API_SECRET,
    clients: N,
    rate: 30,
    version: '5.8.0',
    connEvictRate: EVICT_RATE,
    sessEvictRate: EVICT_RATE,
    reconnectMs: 100,
    outDir: clusterDir('demo-out'),
    timeoutSec: 180,
    clientPrefix: stack.name,
    log: () => undefined,
  };
}, 60_000);
afterAll(async () => {
  await app?.close();
  await stack?.stop();
  await env?.teardown();
});

test(`the demo upgrades the sandbox under ${N} clients: SUCCEEDED, 0 lost, >= 98% connected, evictions at the requested rate, a chart per node`, async () => {
  const { summary, final, dir, samples } = await runEmqxDemo(options);
  process.stdout.write(`demo (${N} clients): ${JSON.stringify(summary)}\n`);

  expect(final.status).toBe('SUCCEEDED');
  expect(summary.version).toBe('5.8.0');
  expect(summary.sent).toBeGreaterThan(0);
  expect(summary.lost).toBe(0);
  expect(summary.minConnected).toBeGreaterThanOrEqual(Math.ceil(0.98 * N));
  // Each of the three blue nodes, emptied over many batches, at the requested rate within 10%.
  expect(summary.evictions.map((e) => e.node)).toEqual([0, 1, 2].map((i) => `emqx@${releaseName(stack.name, '5.7.0')}-${i}`));
  for (const e of summary.evictions) expect(Math.abs(e.rate - EVICT_RATE) / EVICT_RATE).toBeLessThanOrEqual(0.1);
  const green = [0, 1, 2].map((i) => `emqx@${releaseName(stack.name, '5.8.0')}-${i}`);
  expect(Object.keys(samples.at(-1)!.nodes!).sort()).toEqual(green);

  for (const f of ['samples.jsonl', 'summary.json', 'connections.svg']) expect(existsSync(join(dir, f))).toBe(true);
  const svg = readFileSync(join(dir, 'connections.svg'), 'utf8');
  for (const node of [...summary.evictions.map((e) => e.node), ...green]) expect(svg).toContain(`<polyline data-series="${node}"`);
}, 240_000);

test('the demo with a rollback in drainBlue: ROLLED_BACK, clients back on the old nodes, still 0 lost', async () => {
  // The cluster now runs 5.8.0: the rerun upgrades to 5.8.1 and rolls back to 5.8.0 once clients have moved to green.
  const { summary, final, samples } = await runEmqxDemo({ ...options, rollbackAt: 'drainBlue', rollbackDelaySec: 8 });
  process.stdout.write(`demo rollback (${N} clients): ${JSON.stringify(summary)}\n`);

  expect(final.status).toBe('ROLLED_BACK');
  expect(summary.version).toBe('5.8.1');
  expect(summary.lost).toBe(0);
  const blue = [0, 1, 2].map((i) => `emqx@${releaseName(stack.name, '5.8.0')}-${i}`);
  const onGreen = (s: (typeof samples)[number]): number =>
    Object.entries(s.nodes ?? {})
      .filter(([n]) => n.includes('-5-8-1-'))
      .reduce((sum, [, c]) => sum + c, 0);
  // Traffic did reach green before the rollback, and all of it came back.
  expect(Math.max(...samples.map(onGreen))).toBeGreaterThan(0);
  const last = samples.at(-1)!;
  expect(last.connected).toBe(N);
  expect(Object.keys(last.nodes!).sort()).toEqual(blue);
  expect(Object.values(last.nodes!).reduce((a, b) => a + b, 0)).toBe(N);
}, 240_000);
