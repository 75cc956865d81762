/**
 * With a Prometheus started by the test (Debian's binary), scraping a
 * service found through its file_sd target file, a real PromQL query drives
 * one passing and one failing analysis; no data is Inconclusive; a
 * Prometheus that stops answering ends the analysis in Error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toAnalysisCheck, type AnalysisCheckInput } from '../../../src/domain/analysis';
import { builtInProviders, createAnalysisActivities } from '../../../src/activities/analysis';
import { startPrometheus, type PrometheusServer } from '../../../src/embedded/prometheus';
import { exec } from '../../support/activityHarness';
import { eventually } from '../../support/temporal';

let dir: string;
let prometheus: PrometheusServer;
let service: Server;

/** What a release's service exports: requests by release and status code, as a real one counts them. */
const requests = { 'shop-1-0-0': { ok: 990, error: 10 }, 'shop-2-0-0': { ok: 800, error: 200 } };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cutover-prometheus-'));
  service = createServer((_req, res) => {
    // Counters that grow between scrapes, so rate() has something to say.
    for (const r of Object.values(requests)) {
      r.ok += r.ok / 10;
      r.error += r.error / 10;
    }
    const lines = Object.entries(requests).flatMap(([release, r]) => [
      `shop_requests_total{release="${release}",code="200"} ${r.ok}`,
      `shop_requests_total{release="${release}",code="500"} ${r.error}`,
    ]);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`# TYPE shop_requests_total counter\n${lines.join('\n')}\n`);
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  prometheus = await startPrometheus({ dir, scrapeIntervalMs: 1000 });
  prometheus.setTargets('shop', [`127.0.0.1:${(service.address() as AddressInfo).port}`], { labels: { target: 'shop' } });
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await new Promise((r) => service?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const vars = { target: 'shop', release: 'shop-2-0-0', blue: 'shop-1-0-0', green: 'shop-2-0-0' };
const errorRate = (release: string, over: Partial<AnalysisCheckInput> = {}) =>
  toAnalysisCheck({
    name: 'error-rate',
    provider: 'prometheus',
    query: `sum(rate(shop_requests_total{target="{{target}}",release="${release}",code="500"}[5s])) / sum(rate(shop_requests_total{target="{{target}}",release="${release}"}[5s]))`,
    successCondition: 'result < 0.05',
    interval: '1s',
    count: 2,
    ...over,
  });

test('a real PromQL query drives one passing and one failing analysis', async () => {
  const { runAnalysis } = createAnalysisActivities({ providers: builtInProviders({ prometheusUrl: prometheus.url }) });
  // Found through the file_sd target file, scraped at least three times.
  await eventually(async () => {
    const r = await exec(runAnalysis, { target: 'shop', check: errorRate('{{blue}}'), vars });
    return r?.phase === 'Successful';
  }, 30_000);

  const passing = await exec(runAnalysis, { target: 'shop', check: errorRate('{{blue}}'), vars });
  expect(passing.phase).toBe('Successful');
  expect(passing.measurements).toHaveLength(2);
  for (const m of passing.measurements) expect(m.value).toBeCloseTo(0.01, 3);

  const failing = await exec(runAnalysis, { target: 'shop', check: errorRate('{{green}}'), vars });
  expect(failing.phase).toBe('Failed');
  expect(failing.measurements).toHaveLength(1);
  expect(failing.measurements[0].value).toBeCloseTo(0.2, 3);
  expect(failing.message).toMatch(/^error-rate: 1 Failed, more than failureLimit 0; last 0\.2: not result < 0\.05$/);
}, 60_000);

test('a query with no data is Inconclusive, never a success', async () => {
  const { runAnalysis } = createAnalysisActivities({ providers: builtInProviders({ prometheusUrl: prometheus.url }) });
  const r = await exec(runAnalysis, { target: 'shop', check: errorRate('shop-9-9-9', { count: undefined, interval: undefined }), vars });
  expect(r).toMatchObject({ phase: 'Inconclusive', measurements: [{ phase: 'Inconclusive', message: 'no data' }] });
});

test('a query that gives several series is a provider error that says to aggregate', async () => {
  const { runAnalysis } = createAnalysisActivities({ providers: builtInProviders({ prometheusUrl: prometheus.url }) });
  const r = await exec(runAnalysis, {
    target: 'shop',
    check: toAnalysisCheck({ name: 'raw', provider: 'prometheus', query: 'shop_requests_total', consecutiveErrorLimit: 0 }),
    vars,
  });
  expect(r.phase).toBe('Error');
  expect(r.measurements[0].message).toMatch(/^the query gives 4 series; aggregate them to one, e\.g\. with sum\(\) or max\(\) \(\{/);
});

test('a Prometheus that stops answering ends the analysis in Error after consecutiveErrorLimit', async () => {
  const other = await startPrometheus({ dir: join(dir, 'other'), scrapeIntervalMs: 1000 });
  const { runAnalysis } = createAnalysisActivities({ providers: builtInProviders({ prometheusUrl: other.url }) });
  await other.stop();
  const r = await exec(runAnalysis, { target: 'shop', check: errorRate('{{green}}', { interval: '100ms', count: 5, consecutiveErrorLimit: 2 }), vars });
  expect(r.phase).toBe('Error');
  expect(r.measurements.map((m) => m.phase)).toEqual(['Error', 'Error', 'Error']);
  expect(r.message).toContain('analysis provider prometheus failed 3 times in a row');
  expect(r.measurements[0].message).toBe('fetch failed: ECONNREFUSED');
}, 30_000);
