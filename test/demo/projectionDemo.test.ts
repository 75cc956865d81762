/**
 * `npm run demo -- --target sandbox-projection` over a small store on the
 * stack of test/support/projectionStack.ts: what a user would notice, the
 * upgrade SUCCEEDED, not one query failed, lines with lag, rate and ETA while
 * green built, the ETA accuracy and blue's drop in the summary, the files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { runProjectionDemo } from '../../src/demo/projectionDemo';
import { TOKENS } from '../api/harness';
import { connectSharedServer } from '../support/temporal';
import { clusterDir } from '../support/emqxSandbox';
import { startProjectionStack, type ProjectionStack } from '../support/projectionStack';

/** About 8 s of replay at the sandbox's 100 µs an event: long enough for several lines with an ETA. */
const SEED = 70_000;

let env: TestWorkflowEnvironment;
let stack: ProjectionStack;
beforeAll(async () => {
  env = await connectSharedServer();
  // handlers at 100 µs an event, as npm start's sandbox: the build takes seconds, long enough to see its ETA
  stack = await startProjectionStack(env, SEED, { SANDBOX_PROJECTION_HANDLER_COST_US: '100' });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

test('the projection demo: SUCCEEDED, no failed query, lag, rate and ETA per line while green builds, the ETA accuracy, blue dropped after the window, the files', async () => {
  const lines: string[] = [];
  const { summary, dir, final } = await runProjectionDemo({
    apiUrl: `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`,
    operatorToken: TOKENS.operator,
    viewerToken: TOKENS.viewer,
    approverToken: TOKENS.approver,
    target: stack.name,
    queryUrl: stack.queryUrl,
    queryRate: 40,
    version: '2.0.0',
    standbyWindow: '3s',
    poll: '500ms',
    outDir: clusterDir('projection-demo-out'),
    timeoutSec: 180,
    log: (line) => lines.push(line),
  });
  process.stdout.write(`${lines.join('\n')}\nprojection demo: ${JSON.stringify(summary)}\n`);

  expect(summary.status).toBe('SUCCEEDED');
  expect(summary.queries.failed).toBe(0);
  const blue = final.releases.blue!.name;
  const green = final.releases.green!.name;
  expect(summary.queries.byRelease[blue]!.answered).toBeGreaterThan(0);
  expect(summary.queries.byRelease[green]!.answered).toBeGreaterThan(0);
  expect(lines.filter((l) => / lag \d+ \([\d.]+% of the way\), \d+ events\/s, ETA \d/.test(l)).length).toBeGreaterThanOrEqual(3);
  expect(summary.head).toBeGreaterThanOrEqual(SEED);
  expect(summary.eta).not.toBeNull();
  expect(summary.eta!.atPct).toBeGreaterThanOrEqual(10);
  expect(summary.eta!.predictedSec).toBeGreaterThan(0);
  expect(summary.blueDropped!.afterStandbySec).toBeGreaterThanOrEqual(3);

  for (const f of ['samples.jsonl', 'summary.json', 'catch-up.svg']) expect(existsSync(join(dir, f))).toBe(true);
  const svg = readFileSync(join(dir, 'catch-up.svg'), 'utf8');
  for (const series of ["green's lag", 'queries/s answered by blue', 'queries/s answered by green', 'failed queries/s']) expect(svg).toContain(`data-series="${series}"`);
}, 240_000);
