/**
 * `npm run demo -- --target sandbox-kong`: a steady keep-alive HTTP load
 * (autocannon) through the sandbox's nginx while sandbox-kong is upgraded
 * through the API; a line per change (status, step, weights, what it waits
 * for), the gate before `kong migrations finish` approved as a person would,
 * requests per second per version from the gateways' own counters, a summary
 * and an SVG chart with the steps marked.
 */
import { readFileSync } from 'node:fs';
import { parseKongMetrics } from '../domain/kong/metrics';
import type { LocalState } from '../domain/platform';
import { assertLoopback } from '../sandbox/load/mqttLoad';
import { startHttpLoad, type HttpLoadSummary } from '../sandbox/load/httpLoad';
import { demoApi } from './api';
import { followUpgrade, nextDemoVersion, writeDemoRun } from './followUpgrade';
import { connectionsSvg, type DemoSample } from './report';

export interface KongDemoOptions {
  apiUrl: string;
  operatorToken: string;
  viewerToken: string;
  approverToken: string;
  target: string;
  /** nginx in front of the gateways. */
  proxyUrl: string;
  /** The sandbox's state file: where each node's status listener is. */
  stateFile: string;
  rate: number;
  connections: number;
  version: string;
  outDir: string;
  timeoutSec: number;
  log(line: string): void;
}

export interface KongDemoSummary {
  status: string;
  version: string;
  durationSec: number;
  load: HttpLoadSummary;
  /** Requests each version's gateways counted during the demo, and their share. */
  byVersion: Record<string, { requests: number; errors: number; pct: number }>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Requests and 5xx per version, summed over every running node's /metrics. */
async function countersByVersion(stateFile: string): Promise<Record<string, { requests: number; errors: number }>> {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as LocalState;
  const out: Record<string, { requests: number; errors: number }> = {};
  for (const r of Object.values(state.releases)) {
    for (const ports of r.ports.slice(0, r.replicas)) {
      const text = await fetch(`http://127.0.0.1:${ports.status}/metrics`, { signal: AbortSignal.timeout(2000) }).then((res) => res.text(), () => '');
      const c = parseKongMetrics(text);
      const v = (out[r.version] ??= { requests: 0, errors: 0 });
      v.requests += c.requests;
      v.errors += c.errors;
    }
  }
  return out;
}

export async function runKongDemo(o: KongDemoOptions): Promise<{ dir: string; summary: KongDemoSummary }> {
  for (const u of [o.apiUrl, o.proxyUrl]) assertLoopback(u);
  const api = demoApi(o.apiUrl);
  const running = Object.values((JSON.parse(readFileSync(o.stateFile, 'utf8')) as LocalState).releases).map((r) => r.version);
  const version = await nextDemoVersion(api, o.target, o.viewerToken, running, o.version);
  o.log(`demo: ${o.rate} requests/s on ${o.connections} keep-alive connections through ${o.proxyUrl}, then ${o.target} upgraded to ${version}`);

  const load = startHttpLoad({ url: `${o.proxyUrl.replace(/\/+$/, '')}/demo`, rate: o.rate, connections: o.connections });
  const begin = Date.now();
  const t = () => (Date.now() - begin) / 1000;
  const first = await countersByVersion(o.stateFile);
  let previous = first;
  // The last reading of every version, kept after its nodes are gone.
  const seen = { ...first };
  let previousT = 0;
  const samples: DemoSample[] = [];
  const sample = async (): Promise<void> => {
    const now = await countersByVersion(o.stateFile);
    const at = t();
    const perVersion: Record<string, number> = {};
    for (const [v, c] of Object.entries(now)) perVersion[v] = Math.round(Math.max(0, c.requests - (previous[v]?.requests ?? 0)) / Math.max(at - previousT, 1e-3));
    samples.push({ t: Math.round(at * 10) / 10, connected: Object.values(perVersion).reduce((a, b) => a + b, 0), nodes: perVersion });
    previous = now;
    previousT = at;
    Object.assign(seen, now);
  };

  await sleep(3000);
  await sample();
  const { final, markers } = await followUpgrade({
    api,
    operatorToken: o.operatorToken,
    viewerToken: o.viewerToken,
    approverToken: o.approverToken,
    upgrade: { kind: 'kong', target: o.target, version, reason: 'npm run demo', options: { approval: 'auto', standbyWindow: '5s' } },
    t,
    tick: sample,
    figures: () => {
      const { requests, failed } = load.counts();
      return `requests ${requests}, failed ${failed}, ${JSON.stringify(samples.at(-1)?.nodes)} req/s by version`;
    },
    pollMs: 1000,
    timeoutSec: o.timeoutSec,
    log: o.log,
  });
  await sleep(3000);
  await sample();
  const loadSummary = await load.stop();
  const counted = Object.fromEntries(
    Object.entries(seen).map(([v, c]) => [v, { requests: c.requests - (first[v]?.requests ?? 0), errors: c.errors - (first[v]?.errors ?? 0) }]),
  );
  const total = Object.values(counted).reduce((a, c) => a + c.requests, 0);
  const summary: KongDemoSummary = {
    status: final.status,
    version,
    durationSec: Math.round(t()),
    load: loadSummary,
    byVersion: Object.fromEntries(Object.entries(counted).map(([v, c]) => [v, { ...c, pct: Math.round((1000 * c.requests) / Math.max(total, 1)) / 10 }])),
  };
  const title = `${o.target}: ${final.releases.blue?.name ?? '?'} → ${final.releases.green?.name ?? '?'} (${final.status}), ${o.rate} requests/s`;
  const dir = writeDemoRun(o.outDir, {
    samples,
    summary: { ...summary, upgradeId: final.upgradeId, markers, trafficSteps: final.trafficSteps },
    svgName: 'requests.svg',
    svg: connectionsSvg(samples, markers, title, { y: 'requests per second', total: 'total (gateways)' }),
  });
  return { dir, summary };
}
