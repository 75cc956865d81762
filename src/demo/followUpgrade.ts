/**
 * What every demo does around its own load: choose a version a rerun can
 * still upgrade to, start the upgrade through cutover's API, follow it with a
 * line per change, approve gates as a person would, mark the steps for the
 * chart, and write the run's directory (samples.jsonl, summary.json, an SVG).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TERMINAL_STATUSES } from '../domain/status';
import type { UpgradeState } from '../domain/upgrade';
import type { DemoApi } from './api';
import { demoVersion, type StepMarker } from './report';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `wanted` unless a version as new is running or was tried by an earlier
 * upgrade of the target (a rolled-back release keeps its name), else the next patch.
 */
export async function nextDemoVersion(api: DemoApi, target: string, viewerToken: string, running: readonly string[], wanted: string): Promise<string> {
  const upgrades = (await api<{ upgrades: { id: string }[] }>('GET', `/v1/upgrades?target=${encodeURIComponent(target)}`, viewerToken)).upgrades;
  const tried = await Promise.all(upgrades.slice(0, 50).map((u) => api<UpgradeState>('GET', `/v1/upgrades/${encodeURIComponent(u.id)}`, viewerToken)));
  return demoVersion([...running, ...tried.map((u) => u.version)], wanted);
}

/** Status, step, traffic split and what the upgrade waits for. */
export function progressLine(s: UpgradeState): string {
  return `${s.status} step=${s.step ?? '-'} blue=${s.traffic.blue}% green=${s.traffic.green}% | ${s.waitingFor}`;
}

/** Who a demo acts as: an operator starts the upgrade, a viewer follows it, an approver says yes at its gates. */
export interface DemoTokens {
  operatorToken: string;
  viewerToken: string;
  approverToken: string;
}

export const tokensOf = ({ operatorToken, viewerToken, approverToken }: DemoTokens): DemoTokens => ({ operatorToken, viewerToken, approverToken });

export interface FollowOptions extends DemoTokens {
  api: DemoApi;
  /** The POST /v1/upgrades body. */
  upgrade: object;
  /** Seconds on the demo's clock (the chart's x axis). */
  t(): number;
  /** Runs before each look at the upgrade: the demo's own sampling. */
  tick(): Promise<void>;
  /** What a printed line says; `progressLine` by default. */
  line?(s: UpgradeState): string;
  /** A new line is printed whenever this changes; the line itself by default. */
  change?(s: UpgradeState): string;
  /** Appended to each printed line: the load's figures at that moment. */
  figures(): string;
  /** Each look at the upgrade, whether or not it printed a line. */
  onState?(s: UpgradeState): void;
  pollMs: number;
  /** The load runs alone this long before the upgrade starts and after it ends (one tick at each end), so the chart shows it steady. */
  settleMs: number;
  timeoutSec: number;
  log(line: string): void;
}

export interface Followed {
  final: UpgradeState;
  /** start, each step (with green's weight while traffic is split), approvals, the end. */
  markers: StepMarker[];
}

/** Starts the upgrade and follows it to a terminal status; throws when it has not ended within timeoutSec. */
export async function followUpgrade(o: FollowOptions): Promise<Followed> {
  await sleep(o.settleMs);
  await o.tick();
  const markers: StepMarker[] = [];
  const describe = o.line ?? progressLine;
  const created = await o.api<{ id: string }>('POST', '/v1/upgrades', o.operatorToken, o.upgrade);
  const path = `/v1/upgrades/${encodeURIComponent(created.id)}`;
  markers.push({ t: o.t(), label: 'start' });
  let last = '';
  let lastStep: string | null = null;
  const deadline = Date.now() + o.timeoutSec * 1000;
  for (;;) {
    await sleep(o.pollMs);
    await o.tick();
    const state = await o.api<UpgradeState>('GET', path, o.viewerToken);
    o.onState?.(state);
    const line = describe(state);
    const change = o.change?.(state) ?? line;
    if (change !== last) {
      o.log(`t=${o.t().toFixed(1)}s ${line} | ${o.figures()}`);
      last = change;
    }
    const where = state.step ? `${state.step}${state.traffic.green > 0 && state.traffic.green < 100 ? ` ${state.traffic.green}%` : ''}` : null;
    if (where !== lastStep && where) markers.push({ t: o.t(), label: where });
    lastStep = where;
    if (state.status === 'AWAITING_APPROVAL') {
      o.log(`t=${o.t().toFixed(1)}s approving: ${state.waitingFor}`);
      await o.api('POST', `${path}/approve`, o.approverToken, { reason: 'npm run demo: the analysis passed' });
      markers.push({ t: o.t(), label: 'approved' });
    }
    if (TERMINAL_STATUSES.includes(state.status)) {
      markers.push({ t: o.t(), label: state.status });
      await sleep(o.settleMs);
      await o.tick();
      return { final: state, markers };
    }
    if (Date.now() > deadline) throw new Error(`the upgrade did not end within ${o.timeoutSec}s (last: ${line})`);
  }
}

/** Writes `<outDir>/<timestamp>/{samples.jsonl,summary.json,<svgName>}` and returns the directory. */
export function writeDemoRun(outDir: string, run: { samples: readonly object[]; summary: object; svgName: string; svg: string }): string {
  const dir = join(outDir, new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'samples.jsonl'), run.samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(run.summary, null, 2) + '\n');
  writeFileSync(join(dir, run.svgName), run.svg);
  return dir;
}
