import { connectionsSvg, demoVersion, evictionRates, summarizeDemo, type DemoSample } from '../../src/demo/report';

test('demoVersion: the wanted version, else the next patch above every version running or tried', () => {
  expect(demoVersion(['5.7.0', '5.7.0'])).toBe('5.8.0');
  expect(demoVersion(['5.8.0'])).toBe('5.8.1');
  expect(demoVersion(['5.8.0', '5.8.3'])).toBe('5.8.4');
  expect(demoVersion(['5.7.0', '5.8.0'])).toBe('5.8.1');
  expect(demoVersion([])).toBe('5.8.0');
  expect(demoVersion(['5.9.0-rc.1'])).toBe('5.8.0');
});

// A node of 10 connections evicted in batches of 3 once a second, sampled every quarter second; b never drops.
const samples: DemoSample[] = Array.from({ length: 24 }, (_, i) => {
  const t = i / 4;
  const batches = t < 1 ? 0 : Math.floor(t);
  const a = Math.max(0, 10 - 3 * batches);
  return { t, connected: 20 - (i % 4 === 0 && a > 0 && a < 10 ? 1 : 0), nodes: { 'emqx@a': a, 'emqx@b': 10 + (10 - a) } };
});

test('evictionRates: connections after the first batch over the time to empty', () => {
  // First drop at t=1 (7 left), 0 at t=4: 7 in 3 s.
  expect(evictionRates(samples)).toEqual([{ node: 'emqx@a', evicted: 7, seconds: 3, rate: 2.33 }]);
  expect(evictionRates([{ t: 0, connected: 1, nodes: { x: 5 } }, { t: 1, connected: 1, nodes: { x: 0 } }])).toEqual([]);
});

test('summarizeDemo: the minimum as a share of N and the mean measured rate', () => {
  const s = summarizeDemo({
    version: '5.8.0',
    status: 'SUCCEEDED',
    durationSec: 12.345,
    load: { clients: 20, sent: 10, received: 10, lost: 0, duplicated: 1, minConnected: 19 },
    samples,
    requestedConnEvictRate: 3,
  });
  expect(s).toMatchObject({ durationSec: 12.3, minConnectedPct: 95, measuredConnEvictRate: 2.33, duplicated: 1 });
});

test('connectionsSvg: a polyline per node and for the total, split where a node is absent; labels escaped', () => {
  const gap: DemoSample[] = [...samples, { t: 6, connected: 20, nodes: { 'emqx@b': 20 } }, { t: 7, connected: 20, nodes: { 'emqx@a': 0, 'emqx@b': 20 } }];
  const svg = connectionsSvg(gap, [{ t: 1, label: 'drainBlue' }], 'a <b> & c');
  expect(svg.match(/<polyline data-series="emqx@a"/g)).toHaveLength(2);
  expect(svg.match(/<polyline data-series="emqx@b"/g)).toHaveLength(1);
  expect(svg).toContain('data-series="total (clients)"');
  expect(svg).toContain('a &lt;b&gt; &amp; c');
  expect(svg).toContain('>drainBlue</text>');
});

test('connectionsSvg: series of a second axis drawn dashed on their own scale, large ticks shortened', () => {
  const lag: DemoSample[] = [0, 1, 2].map((t) => ({ t, connected: 1_000_000 - t * 400_000, nodes: null, right: { 'failed queries/s': 0, 'queries/s answered by blue': 50 } }));
  const svg = connectionsSvg(lag, [], 'lag', { y: 'lag (events)', total: "green's lag", right: 'queries per second' });
  expect(svg).toContain('data-series="green\'s lag"');
  expect(svg).toMatch(/<polyline data-series="queries\/s answered by blue" [^>]*stroke-dasharray="6 3"/);
  expect(svg).toContain('>1M</text>');
  expect(svg).toContain('>queries per second</text>');
  // 50 queries/s sits near the top of its own axis, not flat on the lag's
  const blueY = Number(/data-series="queries\/s answered by blue"[^>]*points="[\d.]+,([\d.]+)/.exec(svg)![1]);
  expect(blueY).toBeLessThan(200);
});
