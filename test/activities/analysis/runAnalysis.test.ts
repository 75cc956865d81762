/**
 * runAnalysis as the worker runs it: every measurement in one activity that
 * heartbeats its progress, resumes from the last heartbeat after a worker
 * died, ends at once when cancelled; the http provider against a real server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { toAnalysisCheck, type AnalysisCheckInput, type AnalysisResult, type Measurement } from '../../../src/domain/analysis';
import { builtInProviders, createAnalysisActivities } from '../../../src/activities/analysis';
import type { AnalysisProvider } from '../../../src/activities/analysis/provider';
import { failure, run } from '../../support/activityHarness';

const vars = { target: 'shop', release: 'shop-2-0-0', blue: 'shop-1-0-0', green: 'shop-2-0-0' };
const check = (over: Partial<AnalysisCheckInput>) =>
  toAnalysisCheck({ name: 'error-rate', provider: 'scripted', query: 'q', successCondition: 'result < 0.05', ...over });

/** Answers from a list; undefined is no data, an Error is thrown. */
function scripted(answers: (number | undefined | Error)[]): AnalysisProvider & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async measure({ check: c }) {
      calls.push(c.query ?? '');
      const a = answers[calls.length - 1];
      if (a instanceof Error) throw a;
      return a;
    },
  };
}

const activities = (provider: AnalysisProvider) => createAnalysisActivities({ providers: { scripted: provider }, heartbeatEveryMs: 20 });

test('takes count measurements interval apart in one activity and returns them all', async () => {
  const { runAnalysis } = activities(scripted([0.01, 0.02, 0.03]));
  const started = Date.now();
  const { result, heartbeats } = run(runAnalysis, { target: 'shop', check: check({ interval: '200ms', count: 3, initialDelay: '100ms' }), vars });
  const r = await result;
  expect(r).toMatchObject({ check: 'error-rate', phase: 'Successful', message: 'error-rate: 3 Successful' });
  expect(r.measurements.map((m) => [m.phase, m.value])).toEqual([['Successful', 0.01], ['Successful', 0.02], ['Successful', 0.03]]);
  // initialDelay, then two intervals
  expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  expect(Date.parse(r.measurements[2].at) - Date.parse(r.measurements[1].at)).toBeGreaterThanOrEqual(190);
  expect(heartbeats.at(-1)).toMatchObject({ recent: r.measurements, taken: { Successful: 3, Failed: 0, Inconclusive: 0, Error: 0 } });
});

test('a failure ends the run early with the measured value; provider errors are measurements of their own', async () => {
  const { runAnalysis } = activities(scripted([new Error('connect ECONNREFUSED'), 0.2, 0.01]));
  const r = await run(runAnalysis, { target: 'shop', check: check({ interval: '10ms', count: 3 }), vars }).result;
  expect(r.phase).toBe('Failed');
  expect(r.measurements.map((m) => m.phase)).toEqual(['Error', 'Failed']);
  expect(r.measurements[0].message).toBe('connect ECONNREFUSED');
  expect(r.message).toContain('last 0.2: not result < 0.05');
});

test('a provider that keeps failing ends in Error after consecutiveErrorLimit, with "analysis provider" in the message', async () => {
  const down = new Error('fetch failed', { cause: { code: 'ECONNREFUSED' } });
  const { runAnalysis } = activities(scripted([down, down, down]));
  const r = await run(runAnalysis, { target: 'shop', check: check({ interval: '10ms', count: 2, consecutiveErrorLimit: 2 }), vars }).result;
  expect(r).toMatchObject({ phase: 'Error', message: expect.stringContaining('analysis provider scripted failed 3 times in a row') });
  expect(r.measurements.at(-1)?.message).toBe('fetch failed: ECONNREFUSED');
});

test('a provider slower than the measurement time limit is an error, not a hang', async () => {
  const slow: AnalysisProvider = { measure: ({ signal }) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))) };
  const { runAnalysis } = createAnalysisActivities({ providers: { scripted: slow }, measurementTimeoutMs: 50 });
  const r = await run(runAnalysis, { target: 'shop', check: check({ consecutiveErrorLimit: 0 }), vars }).result;
  expect(r.measurements[0]).toMatchObject({ phase: 'Error', message: 'no answer within 50 ms' });
});

test('a retried attempt resumes from the heartbeat details: no measurement is taken twice', async () => {
  const provider = scripted([0.03]);
  const { runAnalysis } = activities(provider);
  const before: Measurement[] = [
    { at: new Date(Date.now() - 150).toISOString(), phase: 'Successful', value: 0.01 },
    { at: new Date(Date.now() - 100).toISOString(), phase: 'Successful', value: 0.02 },
  ];
  const env = new MockActivityEnvironment({ heartbeatDetails: { startedAt: before[0].at, measurements: before } }, { logger: new DefaultLogger('ERROR') });
  const r: AnalysisResult = await env.run(runAnalysis, { target: 'shop', check: check({ interval: '100ms', count: 3 }), vars });
  expect(r.measurements.map((m) => m.value)).toEqual([0.01, 0.02, 0.03]);
  expect(provider.calls).toHaveLength(1);
});

test('cancellation (a rollback) ends the wait at once', async () => {
  const { runAnalysis } = activities(scripted([0.01, 0.01]));
  const { result, env } = run(runAnalysis, { target: 'shop', check: check({ interval: '1h', count: 2 }), vars });
  await new Promise((r) => setTimeout(r, 100));
  // the next measurement is an hour away: the wait ends only by the cancellation
  env.cancel();
  await expect(result).rejects.toBeInstanceOf(CancelledFailure);
});

test('an unknown provider fails for good and names the ones the worker has', async () => {
  const { runAnalysis } = createAnalysisActivities({ providers: builtInProviders({}) });
  const f = await failure(run(runAnalysis, { target: 'shop', check: check({ provider: 'prometheus' }), vars }).result);
  expect(f.nonRetryable).toBe(true);
  expect(f.message).toBe("analysis provider 'prometheus' is not available on this worker (it has http): set CUTOVER_PROMETHEUS_URL for the worker");
  const inherited = await failure(run(runAnalysis, { target: 'shop', check: check({ provider: 'constructor' }), vars }).result);
  expect(inherited.message).toMatch(/^analysis provider 'constructor' is not available/);
});

describe('http provider', () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? '');
      if (req.url?.startsWith('/down')) return void res.writeHead(503).end('{}');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ checks: [{ errorRate: 0.01, ready: true, missing: null }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  /** url: a path on the test server. */
  const http = ({ url = '/status/{{release}}', ...over }: Partial<AnalysisCheckInput>) => check({ provider: 'http', query: undefined, url: `${base}${url}`, ...over });
  const { runAnalysis } = createAnalysisActivities({ providers: builtInProviders({ allowedHosts: () => ['127.0.0.1'] }) });

  test.each<[string, Partial<AnalysisCheckInput>, string, number | undefined]>([
    ['a JSON field is the result', { jsonPath: '$.checks[0].errorRate' }, 'Successful', 0.01],
    ['a boolean is 1 or 0', { jsonPath: '$.checks[0].ready', successCondition: 'result == 1' }, 'Successful', 1],
    ['a null field is no data', { jsonPath: '$.checks[0].missing' }, 'Inconclusive', undefined],
    ['without jsonPath the status code is the result', { successCondition: 'result == 200' }, 'Successful', 200],
    ['a 503 is a failed smoke check', { url: '/down', successCondition: 'result == 200' }, 'Failed', 503],
  ])('%s', async (_name, over, phase, value) => {
    const r = await run(runAnalysis, { target: 'shop', check: http(over), vars }).result;
    expect(r.measurements[0]).toMatchObject({ phase });
    expect(r.measurements[0].value).toBe(value);
    expect(seen).toContain('/status/shop-2-0-0');
  });

  test('a 503 when a JSON field is wanted is a provider error', async () => {
    const r = await run(runAnalysis, { target: 'shop', check: http({ url: '/down', jsonPath: '$.x', consecutiveErrorLimit: 0 }), vars }).result;
    expect(r.measurements[0]).toMatchObject({ phase: 'Error', message: expect.stringMatching(/^HTTP 503 from 127\.0\.0\.1:\d+$/) });
  });
});
