/**
 * `npm run demo -- --target sandbox-projection`: a client querying the serving
 * release through the sandbox's nginx the whole time while the event-sourced
 * target is upgraded through the API; a line per change with lag, rate and ETA
 * as GET /v1/upgrades/:id shows them while green builds, a summary (queries
 * and failures by release, the ETA taken at 10% of the way against the actual
 * time, when blue's database was dropped against the standby window) and an
 * SVG of lag and queries over time with the steps marked.
 */
import type { CatchUpProgress } from '../domain/projection/catchUp';
import { humanDuration, parseDuration } from '../domain/duration';
import type { UpgradeState } from '../domain/upgrade';
import { assertLoopback } from '../sandbox/load/mqttLoad';
import { startQueryLoad, type QueryCounts } from '../sandbox/load/queryLoad';
import { demoApi } from './api';
import { followUpgrade, nextDemoVersion, tokensOf, progressLine, writeDemoRun } from './followUpgrade';
import { connectionsSvg, type DemoSample } from './report';

export interface ProjectionDemoOptions {
  apiUrl: string;
  operatorToken: string;
  viewerToken: string;
  approverToken: string;
  target: string;
  /** nginx in front of the serving release. */
  queryUrl: string;
  /** Queries per second. */
  queryRate: number;
  version: string;
  /** How long blue stands by before its database is dropped (a duration: 10s, 2m). */
  standbyWindow: string;
  /** How often the watch reads the catch-up (a duration). */
  poll: string;
  outDir: string;
  timeoutSec: number;
  log(line: string): void;
}

/** The ETA as the API showed it when green was 10% of the way, against the time green actually took from then. */
export interface EtaAccuracy {
  /** How far green was when the ETA was taken (%), and its position and the head then. */
  atPct: number;
  position: number;
  head: number;
  /** Seconds since the watch began. */
  takenAtSec: number;
  /** When the ETA's reading was taken and when the lag first reached the threshold (epoch ms). */
  takenAt: number;
  caughtUpAt: number;
  predictedSec: number;
  actualSec: number;
  /** (predicted - actual) / actual, in %. */
  errorPct: number;
  rate: number;
  appendRate: number;
}

export interface ProjectionDemoSummary {
  status: string;
  version: string;
  durationSec: number;
  queries: QueryCounts;
  /** Events in the store when the upgrade started. */
  head: number | null;
  eta: EtaAccuracy | null;
  /** Seconds from blue standing by to its database dropped (bounded by the cleanup step's start and blue OBSOLETE), and the window asked for. */
  blueDropped: { afterStandbySec: number; windowSec: number; droppedBetween: [string, string] } | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Lag of the serving release at which its read model counts as built (the producer appends meanwhile). */
const CAUGHT_UP_LAG = 1000;
const round1 = (v: number): number => Math.round(v * 10) / 10;

/** The catch-up in an upgrade's details: the watch's last heartbeat while green builds, its final reading after. */
export function catchUpOf(s: UpgradeState): CatchUpProgress | undefined {
  const c = s.details.catchUp as { progress?: CatchUpProgress } | (CatchUpProgress & { progress?: undefined }) | undefined;
  if (!c) return undefined;
  return c.progress ?? ('position' in c ? c : undefined);
}

/** Share of the way from where the watch began to the head, in %. */
const wayPct = (p: CatchUpProgress): number => (100 * (p.position - p.firstSample.position)) / Math.max(1, p.head - p.firstSample.position);

/**
 * The first reading at or past 10% of the way that has an ETA, against the
 * time from that reading to the lag first at or below the threshold (the
 * moment the ETA predicts; recorded by the watch itself, so the API's
 * refresh interval does not enter the measure).
 */
export function etaAccuracy(readings: readonly CatchUpProgress[]): EtaAccuracy | null {
  const at10 = readings.find((p) => wayPct(p) >= 10 && p.etaMs !== undefined && p.etaMs > 0);
  const done = readings.find((p) => p.caughtUpSince !== undefined && at10 && p.caughtUpSince >= at10.lastSample.at);
  if (!at10 || !done) return null;
  const actualMs = done.caughtUpSince! - at10.lastSample.at;
  return {
    atPct: round1(wayPct(at10)),
    position: at10.position,
    head: at10.head,
    takenAtSec: round1((at10.lastSample.at - at10.firstSample.at) / 1000),
    takenAt: at10.lastSample.at,
    caughtUpAt: done.caughtUpSince!,
    predictedSec: round1(at10.etaMs! / 1000),
    actualSec: round1(actualMs / 1000),
    errorPct: round1((100 * (at10.etaMs! - actualMs)) / Math.max(actualMs, 1)),
    rate: Math.round(at10.rate),
    appendRate: Math.round(at10.appendRate),
  };
}

/** When blue stood by, and the bounds of its database's drop (the cleanup step drops it between blue CLEANING_UP and OBSOLETE). */
function blueDropped(s: UpgradeState, windowSec: number): ProjectionDemoSummary['blueDropped'] {
  const blue = s.releases.blue?.name;
  const phaseAt = (phase: string): string | undefined => s.transitions.find((t) => t.what === 'phase' && t.release === blue && t.to === phase)?.at;
  const [standing, cleaning, obsolete] = [phaseAt('STANDING_BY'), phaseAt('CLEANING_UP'), phaseAt('OBSOLETE')];
  if (!standing || !cleaning || !obsolete) return null;
  return { afterStandbySec: round1((Date.parse(cleaning) - Date.parse(standing)) / 1000), windowSec, droppedBetween: [cleaning, obsolete] };
}

function catchUpLine(s: UpgradeState): string {
  const p = catchUpOf(s);
  if (!p || s.step !== 'waitReady') return progressLine(s);
  const eta = p.etaMs === undefined ? 'ETA unknown' : `ETA ${humanDuration(p.etaMs)}`;
  const stall = p.stalledSince === undefined ? '' : `, no progress since ${new Date(p.stalledSince).toISOString()}`;
  return `${progressLine(s)} | lag ${p.lag} (${wayPct(p).toFixed(1)}% of the way), ${Math.round(p.rate)} events/s, ${eta}${stall}`;
}

/**
 * On a sandbox's first start its serving release is still building its read model from the seeded store,
 * and would answer "no such customer": the load starts once it has caught up, as a serving release has.
 */
async function untilServingCaughtUp(o: ProjectionDemoOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutSec * 1000;
  let told = 0;
  for (;;) {
    const s = await fetch(`${o.queryUrl.replace(/\/+$/, '')}/status`, { signal: AbortSignal.timeout(5000) }).then(
      (r) => r.json() as Promise<{ release?: string; position?: number; head?: number }>,
      () => ({}) as { release?: string; position?: number; head?: number },
    );
    const { position = -1, head = -1 } = s;
    if (head >= 0 && head - position <= CAUGHT_UP_LAG) return;
    if (Date.now() > deadline) throw new Error(`${s.release ?? 'the serving release'} has not built its read model within ${o.timeoutSec}s (position ${position} of ${head})`);
    if (Date.now() - told >= 10_000) {
      o.log(`demo: ${s.release ?? 'the serving release'} is still building its read model (position ${position} of ${head}); the load starts once it has caught up`);
      told = Date.now();
    }
    await sleep(1000);
  }
}

export async function runProjectionDemo(o: ProjectionDemoOptions): Promise<{ dir: string; summary: ProjectionDemoSummary; final: UpgradeState }> {
  for (const u of [o.apiUrl, o.queryUrl]) assertLoopback(u);
  const duration = (flag: string, v: string): number => {
    try {
      return parseDuration(v);
    } catch (err) {
      throw new Error(`--${flag}: ${(err as Error).message}`, { cause: err });
    }
  };
  const windowMs = duration('standby-window', o.standbyWindow);
  duration('poll', o.poll);
  const api = demoApi(o.apiUrl);
  const probe = await fetch(`${o.queryUrl.replace(/\/+$/, '')}/customers/c1`, { signal: AbortSignal.timeout(5000) }).then(
    (r) => r.json() as Promise<{ version?: string; release?: string }>,
    (err: Error) => {
      throw new Error(`no answer from ${o.queryUrl} (${err.message}): is npm start running the target ${o.target}? --query names nginx's query port`);
    },
  );
  await untilServingCaughtUp(o);
  const version = await nextDemoVersion(api, o.target, o.viewerToken, probe.version ? [probe.version] : [], o.version);
  o.log(`demo: ${o.queryRate} queries/s through ${o.queryUrl}, each answer checked, then ${o.target} upgraded to ${version} (standby window ${o.standbyWindow})`);

  const load = startQueryLoad({ url: o.queryUrl, rate: o.queryRate });
  const begin = Date.now();
  const t = (): number => (Date.now() - begin) / 1000;
  const samples: DemoSample[] = [];
  const readings: CatchUpProgress[] = [];
  let head: number | null = null;
  let lag = 0;
  let previous = load.counts();
  let previousT = 0;
  // Query rates by the role of the release that answered, so blue and green keep their colours across upgrades.
  let roles: Record<string, string> = probe.release ? { [probe.release]: 'blue' } : {};
  const sample = async (): Promise<void> => {
    const now = load.counts();
    const at = t();
    const dt = Math.max(at - previousT, 1e-3);
    const right: Record<string, number> = {};
    for (const [release, c] of Object.entries(now.byRelease)) {
      const answered = c.answered - (previous.byRelease[release]?.answered ?? 0);
      if (answered > 0) right[`queries/s answered by ${roles[release] ?? release}`] = Math.round(answered / dt);
    }
    right['failed queries/s'] = Math.round((now.failed - previous.failed) / dt);
    samples.push({ t: round1(at), connected: lag, nodes: null, right });
    previous = now;
    previousT = at;
  };

  const { final, markers } = await followUpgrade({
    api,
    ...tokensOf(o),
    upgrade: {
      kind: 'projection',
      target: o.target,
      version,
      reason: 'npm run demo',
      options: { approval: 'auto', standbyWindow: o.standbyWindow, projection: { poll: o.poll, hold: '3s' } },
    },
    t,
    tick: sample,
    line: catchUpLine,
    // while green builds, a line per 5% of the way (or a stall), not one per reading
    change: (s) => {
      const p = catchUpOf(s);
      return `${progressLine(s)} ${p && s.step === 'waitReady' ? `${Math.floor(wayPct(p) / 5)} ${p.stalledSince ?? ''}` : ''}`;
    },
    onState: (s) => {
      roles = Object.fromEntries((['blue', 'green'] as const).flatMap((r) => (s.releases[r] ? [[s.releases[r].name, r]] : [])));
      const p = catchUpOf(s);
      if (!p) return;
      head ??= p.firstSample.head;
      if (readings.at(-1)?.lastSample.at !== p.lastSample.at) readings.push(p);
      lag = p.lag;
    },
    figures: () => {
      const c = load.counts();
      const by = Object.entries(c.byRelease).map(([r, n]) => `${roles[r] ?? r} ${n.answered}${n.failed ? ` (${n.failed} failed)` : ''}`);
      return `queries ${c.queries}, failed ${c.failed}: ${by.join(', ') || 'none yet'}`;
    },
    pollMs: 1000,
    settleMs: 2000,
    timeoutSec: o.timeoutSec,
    log: o.log,
  });
  const queries = await load.stop();
  const eta = etaAccuracy(readings);
  if (eta) {
    markers.push({ t: (eta.takenAt - begin) / 1000, label: `ETA ${eta.predictedSec}s` }, { t: (eta.caughtUpAt - begin) / 1000, label: `caught up (${eta.errorPct > 0 ? '+' : ''}${eta.errorPct}%)` });
    markers.sort((a, b) => a.t - b.t);
  }
  const summary: ProjectionDemoSummary = {
    status: final.status,
    version,
    durationSec: Math.round(t()),
    queries,
    head,
    eta,
    blueDropped: final.status === 'SUCCEEDED' ? blueDropped(final, windowMs / 1000) : null,
  };
  const title = `${o.target}: ${final.releases.blue?.name ?? '?'} → ${final.releases.green?.name ?? '?'} (${final.status}), ${head ?? '?'} events, ${o.queryRate} queries/s`;
  const dir = writeDemoRun(o.outDir, {
    samples,
    summary: { ...summary, upgradeId: final.upgradeId, markers, catchUp: readings },
    svgName: 'catch-up.svg',
    svg: connectionsSvg(samples, markers, title, { y: 'lag (events)', total: "green's lag", right: 'queries per second' }),
  });
  return { dir, summary, final };
}
