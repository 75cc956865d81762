/**
 * A green whose processor stalls, on the local sandbox: real PostgreSQL, the
 * projection service processes, nginx, the API with the long poll and the
 * shipped workflow. The store holds a little more than the stall point, so
 * green stops short of the head; a client queries through nginx throughout.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { releaseDatabaseName } from '../../../../src/domain/projection/naming';
import { releaseName } from '../../../../src/domain/upgrade';
import { STALL_AT } from '../../../../src/sandbox/projection/sandbox';
import { call } from '../../../api/harness';
import { connectSharedServer, eventually } from '../../../support/temporal';
import { queryLoad, releaseDatabases, startProjectionStack } from '../../../support/projectionStack';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await connectSharedServer();
});
afterAll(async () => {
  await env?.teardown();
});

// what a user would set is `stallAfter` (reported) and `stallTimeout` (fails the step); short here to keep the test short
const STALL_AFTER_MS = 5000;
const STALL_TIMEOUT_MS = 20_000;

test('a green whose processor stalls: the stall shows in the state, the step fails at stallTimeout, green removed and its database dropped, blue serves throughout', async () => {
  const stack = await startProjectionStack(env, STALL_AT + 20_000);
  const load = queryLoad(stack.queryUrl);
  try {
    const version = '2.0.0-stall';
    const blue = releaseName(stack.name, '1.4.0');
    const green = releaseName(stack.name, version);
    await eventually(async () => load.answers.some((a) => a.status === 200 && a.release === blue));
    const started = await call(stack.app, 'POST', '/v1/upgrades', {
      as: 'operator',
      body: { kind: 'projection', target: stack.name, version, options: { approval: 'auto', projection: { poll: '250ms', maxLag: 300, stallAfter: '5s', stallTimeout: '20s' } } },
    });
    expect(started.status).toBe(201);
    const id = started.json.id as string;

    let greenPort = 0;
    let stoppedAt = 0; // when the state first showed green at the stall point
    let stallShownAt = 0;
    let stallSummary = '';
    await eventually(async () => {
      const s = (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
      greenPort ||= await stack.sandbox.read((l) => l.releases[green]?.ports[0]?.query ?? 0);
      const catchUp = s.details?.catchUp as { summary?: string; progress?: { position: number } } | undefined;
      if (!stoppedAt && catchUp?.progress?.position === STALL_AT) stoppedAt = Date.now();
      if (!stallShownAt && s.status === 'RUNNING' && catchUp?.summary?.includes('no progress since')) {
        stallShownAt = Date.now();
        stallSummary = catchUp.summary;
      }
      return ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'].includes(s.status) ? s : undefined;
    }, 120_000);
    const endedAt = Date.now();
    const final = (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;

    // the stall as a user saw it through the API while the upgrade ran, then the step failing at stallTimeout
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stallShownAt).toBeGreaterThanOrEqual(stoppedAt);
    expect(stallSummary).toMatch(new RegExp(`^position ${STALL_AT} of \\d+, lag \\d+, no progress since \\d{4}-`));
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.failure).toMatchObject({ step: 'waitReady', type: 'ProjectionStalled' });
    expect(final.failure.message).toMatch(new RegExp(`${green}'s processor .* made no progress since .* \\(20s allowed\\): position ${STALL_AT} of \\d+, lag \\d+$`));
    expect(endedAt - stoppedAt).toBeGreaterThanOrEqual(STALL_TIMEOUT_MS - STALL_AFTER_MS);
    expect(final.releases.blue.phase).toBe('SERVING');
    expect(final.releases.green.phase).toBe('OBSOLETE');
    console.log(
      `stall: shown in the state ${((stallShownAt - stoppedAt) / 1000).toFixed(1)} s after green stopped at ${STALL_AT} (stallAfter ${STALL_AFTER_MS / 1000}s), ` +
        `upgrade ROLLED_BACK ${((endedAt - stoppedAt) / 1000).toFixed(1)} s after (stallTimeout ${STALL_TIMEOUT_MS / 1000}s): ${final.failure.message}`,
    );

    // green's process is gone and its database dropped; blue's is kept
    expect(greenPort).toBeGreaterThan(0);
    await expect(fetch(`http://127.0.0.1:${greenPort}/status`)).rejects.toThrow();
    expect(stack.sandbox.pods(green)).toEqual([]);
    const dbs = await releaseDatabases(stack);
    expect(dbs).not.toContain(releaseDatabaseName(green));
    expect(dbs).toContain(releaseDatabaseName(blue));

    // blue answered every query, before, during and after
    await new Promise((r) => setTimeout(r, 500));
    console.log(`stall test: ${load.answers.length} queries, ${load.errors().length} failed, answered by ${[...new Set(load.answers.map((a) => a.release))].join(', ')}`);
    expect(load.errors()).toEqual([]);
    expect(load.answers.every((a) => a.release === blue)).toBe(true);
    // what Prometheus scrapes now: blue's node alone, counting the queries it answered
    expect(stack.scraped()).toHaveLength(1);
    const metrics = await (await fetch(stack.scraped()[0])).text();
    const answered = Number(new RegExp(`^projection_queries_total\\{release="${blue}",status="200"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(answered).toBeGreaterThanOrEqual(load.answers.filter((a) => a.status === 200).length);
  } finally {
    await load.stop();
    await stack.stop();
  }
}, 240_000);
