/**
 * `npm run demo -- --target sandbox-kong`: a steady keep-alive HTTP load
 * (../sandbox/load/httpLoad) through the sandbox's nginx while sandbox-kong is
 * upgraded through the API; a line per change (status, step, weights, what it
 * waits for), the gate before `kong migrations finish` approved as a person
 * would, requests per second per version and the split of each traffic step
 * from the gateways' own counters, a summary and an SVG chart with the steps
 * marked. With a fail rate, the version it upgrades to answers that share of
 * requests with 500, so the analysis fails at the first step and the upgrade
 * rolls back by itself.
 */
import { rmSync, readFileSync, writeFileSync } from 'node:fs';
import { parseKongMetrics } from '../domain/kong/metrics';
import type { LocalState } from '../domain/platform';
import type { MigrationRecord } from '../activities/kong';
import type { UpgradeState } from '../domain/upgrade';
import { failRatesFile } from '../sandbox/kong/sandbox';
import { assertLoopback } from '../sandbox/load/mqttLoad';
import { startHttpLoad, type HttpLoadSummary } from '../sandbox/load/httpLoad';
import { demoApi } from './api';
import { followUpgrade, nextDemoVersion, tokensOf, writeDemoRun } from './followUpgrade';
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
  /** Share (0..1) of requests the gateways of the new version answer with 500; none when undefined. */
  failRate?: number;
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
  /** Per traffic step (green's weight): green's share of what the gateways counted while that weight held. */
  steps: { weight: number; greenPct: number; requests: number }[];
  /** Where the upgrade left things: the traffic, each release's phase, why it failed, the migrations commands and what `list` said after each. */
  end: { traffic: { blue: number; green: number }; releases: string[]; running: string[]; failure?: string; migrations: string[] };
}

const pct = (part: number, whole: number): number => Math.round((1000 * part) / Math.max(whole, 1)) / 10;

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
  // Rewritten on every run, so a failing version of an earlier run is not carried over.
  rmSync(failRatesFile(o.stateFile), { force: true });
  if (o.failRate !== undefined) {
    writeFileSync(failRatesFile(o.stateFile), JSON.stringify({ [version]: o.failRate }) + '\n');
    o.log(`demo: the gateways of ${version} answer ${Math.round(o.failRate * 100)}% of requests with 500: the analysis should fail at the first traffic step and roll back`);
  }

  const load = startHttpLoad({ url: `${o.proxyUrl.replace(/\/+$/, '')}/demo`, rate: o.rate, connections: o.connections });
  const begin = Date.now();
  const t = () => (Date.now() - begin) / 1000;
  const first = await countersByVersion(o.stateFile);
  let previous = first;
  // The last reading of every version, kept after its nodes are gone.
  const seen = { ...first };
  let previousT = 0;
  const samples: DemoSample[] = [];
  // Requests per version since the last sample, kept for the split until the upgrade's state says which weight held.
  let delta: Record<string, number> = {};
  const sample = async (): Promise<void> => {
    const now = await countersByVersion(o.stateFile);
    const at = t();
    const perVersion: Record<string, number> = {};
    delta = {};
    for (const [v, c] of Object.entries(now)) {
      delta[v] = Math.max(0, c.requests - (previous[v]?.requests ?? 0));
      perVersion[v] = Math.round(delta[v] / Math.max(at - previousT, 1e-3));
    }
    samples.push({ t: Math.round(at * 10) / 10, connected: Object.values(perVersion).reduce((a, b) => a + b, 0), nodes: perVersion });
    previous = now;
    previousT = at;
    Object.assign(seen, now);
  };
  // An interval counts for a step only when the upgrade showed the same weight at both ends: never a mix of two weights.
  const split = new Map<number, { green: number; requests: number }>();
  let weightBefore: number | undefined;
  const onState = (s: UpgradeState): void => {
    const weight = s.status === 'RUNNING' && s.step === 'promote' ? s.traffic.green : undefined;
    if (weight !== undefined && weight === weightBefore) {
      const step = split.get(weight) ?? { green: 0, requests: 0 };
      step.green += delta[version] ?? 0;
      step.requests += Object.values(delta).reduce((a, b) => a + b, 0);
      split.set(weight, step);
    }
    weightBefore = weight;
  };

  const { final, markers } = await followUpgrade({
    api,
    ...tokensOf(o),
    upgrade: { kind: 'kong', target: o.target, version, reason: 'npm run demo', options: { approval: 'auto', standbyWindow: '5s' } },
    t,
    tick: sample,
    onState,
    figures: () => {
      const { requests, failed, retried } = load.counts();
      return `requests ${requests}, failed ${failed}, retried ${retried}, ${JSON.stringify(samples.at(-1)?.nodes)} req/s by version`;
    },
    pollMs: 1000,
    settleMs: 3000,
    timeoutSec: o.timeoutSec,
    log: o.log,
  });
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
    byVersion: Object.fromEntries(Object.entries(counted).map(([v, c]) => [v, { ...c, pct: pct(c.requests, total) }])),
    steps: [...split.entries()].map(([weight, c]) => ({ weight, greenPct: pct(c.green, c.requests), requests: c.requests })),
    end: {
      traffic: final.traffic,
      releases: [final.releases.blue, final.releases.green].flatMap((r) => (r ? [`${r.role} ${r.name} ${r.phase}`] : [])),
      running: Object.entries((JSON.parse(readFileSync(o.stateFile, 'utf8')) as LocalState).releases).map(([name, r]) => `${name} (${r.replicas} nodes)`),
      failure: final.failure?.message,
      migrations: ((final.details.migrations ?? []) as MigrationRecord[]).map((m) => `${m.command} ${m.version} (then list: ${m.list.exitCode}, ${m.list.meaning})`),
    },
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
