/**
 * The EMQX demo: N MQTT clients through the target's load balancer, an upgrade of
 * that target started and followed through cutover's API (optionally rolled
 * back at a step), one line per change, and the figures and the chart written
 * to a directory. Everything it talks to is on 127.0.0.1.
 */
import { demoApi } from './api';
import { nextDemoVersion, writeDemoRun } from './followUpgrade';
import { connectionsSvg, summarizeDemo, type DemoSummary, type StepMarker } from './report';
import type { UpgradeState } from '../domain/upgrade';
import { TERMINAL_STATUSES } from '../domain/status';
import { assertLoopback, runMqttLoad, type LoadSample } from '../sandbox/load/mqttLoad';

export interface EmqxDemoOptions {
  /** cutover's API. */
  apiUrl: string;
  operatorToken: string;
  viewerToken: string;
  target: string;
  /** The load balancer's MQTT listener. */
  mqttUrl: string;
  /** The target's EMQX REST API (per-node connections and the running versions). */
  emqxApiUrl: string;
  emqxApiKey: string;
  emqxApiSecret: string;
  clients: number;
  /** QoS 1 publishes per second over all clients. */
  rate: number;
  /** Version wanted; a cluster already at it (or newer) gets the next patch instead. */
  version: string;
  connEvictRate: number;
  sessEvictRate: number;
  reconnectMs: number;
  /** Send a rollback once the upgrade reaches this step... */
  rollbackAt?: string;
  /** ...and has been in it this long (in drainBlue: time for clients to reach green, so the rollback has traffic to move back). */
  rollbackDelaySec?: number;
  /** Runs go to `<outDir>/<timestamp>/`. */
  outDir: string;
  /** Upper bound of the whole run. */
  timeoutSec: number;
  clientPrefix?: string;
  log: (line: string) => void;
}

export interface EmqxDemoResult {
  dir: string;
  summary: DemoSummary;
  final: UpgradeState;
  samples: LoadSample[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const POLL_MS = 500;
/** Samples kept after the upgrade ends, so the chart shows where the clients settled. */
const SETTLE_MS = 3000;

/** The evacuation options that keep the dip small: batches of a small fraction of N, a standby short enough for a demo. */
export function upgradeBody(target: string, version: string, connEvictRate: number, sessEvictRate: number): object {
  return {
    kind: 'emqx',
    target,
    version,
    reason: 'npm run demo',
    options: {
      approval: 'auto',
      standbyWindow: '5s',
      emqx: { connEvictRate, sessEvictRate, waitTakeover: '2s', waitHealthCheck: '1s', initialDelay: '2s' },
    },
  };
}

export async function runEmqxDemo(o: EmqxDemoOptions): Promise<EmqxDemoResult> {
  for (const u of [o.apiUrl, o.mqttUrl, o.emqxApiUrl]) assertLoopback(u);
  const api = demoApi(o.apiUrl);

  // Versions earlier upgrades tried count too: the sandbox, as EMQX, may still hold a rolled-back release's nodes as evacuated.
  const version = await nextDemoVersion(api, o.target, o.viewerToken, await runningVersions(o), o.version);
  o.log(`demo: ${o.clients} clients through ${o.mqttUrl}, then ${o.target} upgraded to ${version} (eviction ${o.connEvictRate}/s)`);

  const samples: LoadSample[] = [];
  const markers: StepMarker[] = [];
  const stop = new AbortController();
  let ready!: () => void;
  const connected = new Promise<void>((r) => (ready = r));
  const load = runMqttLoad({
    clients: o.clients,
    rate: o.rate,
    urls: [o.mqttUrl],
    apiUrls: [o.emqxApiUrl],
    apiKey: o.emqxApiKey,
    apiSecret: o.emqxApiSecret,
    // Ended by the upgrade's end; this only bounds it.
    durationSec: o.timeoutSec,
    stop: stop.signal,
    sampleMs: 250,
    drainSec: 15,
    clientPrefix: o.clientPrefix ?? 'demo',
    reconnectPeriodMs: o.reconnectMs,
    connectTimeoutSec: 120,
    onSample: (s) => {
      samples.push(s);
      ready();
    },
  });

  // Starts once every client is connected and publishing (runMqttLoad samples only then).
  const drive = async (): Promise<{ final: UpgradeState; ms: number }> => {
    const started = Date.now();
    const now = (): number => samples.at(-1)?.t ?? 0;
    o.log(`all ${o.clients} clients connected; starting the upgrade`);
    const created = await api<{ id: string }>('POST', '/v1/upgrades', o.operatorToken, upgradeBody(o.target, version, o.connEvictRate, o.sessEvictRate));
    markers.push({ t: now(), label: 'start' });
    let last = '';
    let lastStep: string | null = null;
    let rolledBack = false;
    let reachedRollbackStep: number | undefined;
    const deadline = started + o.timeoutSec * 1000;
    for (;;) {
      const state = await api<UpgradeState>('GET', `/v1/upgrades/${encodeURIComponent(created.id)}`, o.viewerToken);
      const line = progressLine(state, await liveEvacuations(o));
      if (line !== last) {
        o.log(`t=${now().toFixed(1)}s ${line} | ${connectionsOf(samples.at(-1))}`);
        last = line;
      }
      if (state.step !== lastStep && state.step) markers.push({ t: now(), label: state.step });
      lastStep = state.step;
      if (state.step === o.rollbackAt) reachedRollbackStep ??= Date.now();
      if (!rolledBack && reachedRollbackStep !== undefined && Date.now() - reachedRollbackStep >= (o.rollbackDelaySec ?? 0) * 1000) {
        rolledBack = true;
        await api('POST', `/v1/upgrades/${encodeURIComponent(created.id)}/rollback`, o.operatorToken, { reason: `npm run demo --rollback-at ${o.rollbackAt}` });
        markers.push({ t: now(), label: 'rollback' });
        o.log(`t=${now().toFixed(1)}s rollback sent at step ${o.rollbackAt}`);
      }
      if (TERMINAL_STATUSES.includes(state.status)) {
        markers.push({ t: now(), label: state.status });
        const ms = Date.now() - started;
        await sleep(SETTLE_MS);
        return { final: state, ms };
      }
      if (Date.now() > deadline) throw new Error(`the upgrade did not end within ${o.timeoutSec}s (last: ${line})`);
      await sleep(POLL_MS);
    }
  };
  const driving = connected.then(drive).finally(() => stop.abort());
  const result = await load;
  const { final, ms } = await driving;

  const summary = summarizeDemo({ version, status: final.status, durationSec: ms / 1000, load: result.summary, samples, requestedConnEvictRate: o.connEvictRate });
  const title = `${o.target}: ${final.releases.blue?.name ?? '?'} → ${final.releases.green?.name ?? '?'} (${final.status}), ${o.clients} clients`;
  const dir = writeDemoRun(o.outDir, {
    samples,
    summary: { ...summary, upgradeId: final.upgradeId, load: result.summary, markers },
    svgName: 'connections.svg',
    svg: connectionsSvg(samples, markers, title),
  });
  return { dir, summary, final, samples };
}

async function emqxGet<T>(o: EmqxDemoOptions, path: string): Promise<T> {
  const r = await fetch(`${o.emqxApiUrl.replace(/\/+$/, '')}/api/v5${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`${o.emqxApiKey}:${o.emqxApiSecret}`).toString('base64')}` },
    signal: AbortSignal.timeout(5000),
  });
  if (r.status !== 200) throw new Error(`${o.emqxApiUrl}/api/v5${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

async function runningVersions(o: EmqxDemoOptions): Promise<string[]> {
  const nodes = await emqxGet<{ node_status: string; version?: string }[]>(o, '/nodes');
  return nodes.filter((n) => n.node_status === 'running' && n.version).map((n) => n.version!);
}

/** Evacuations as EMQX reports them now (the upgrade's details catch up only as each node ends); none when the API does not answer. */
const liveEvacuations = (o: EmqxDemoOptions): Promise<Evacuation[]> =>
  emqxGet<{ evacuations?: Evacuation[] }>(o, '/load_rebalance/global_status').then(
    (g) => g.evacuations ?? [],
    () => [],
  );

interface Evacuation {
  node: string;
  state: string;
}

/** Status, step, phases and the node being evacuated: a new line whenever one of them changes. */
export function progressLine(s: UpgradeState, live: Evacuation[]): string {
  const phases = (['blue', 'green'] as const).map((role) => {
    const r = s.releases[role];
    return r ? `${role} ${r.name} ${r.phase}` : `${role} -`;
  });
  const evacuations = live.length ? live : ((s.details.nodeEvacuationsStatus as Evacuation[] | undefined) ?? []);
  const current = evacuations.find((e) => e.state !== 'prohibiting') ?? evacuations.at(-1);
  return [s.status, s.step ?? '-', ...phases, current ? `evacuating ${current.node} ${current.state}` : 'no evacuation'].join(' | ');
}

function connectionsOf(s: LoadSample | undefined): string {
  if (!s) return 'no sample yet';
  const nodes = s.nodes ? Object.entries(s.nodes).map(([n, c]) => `${n}=${c}`).join(' ') : 'nodes: no API';
  return `connected ${s.connected}: ${nodes}`;
}
