/**
 * The arithmetic and the picture of `npm run demo`, without I/O: which version
 * to upgrade to, how fast nodes were actually evacuated, the summary, and an
 * SVG chart of connections per node over time (the operator guide's Grafana view).
 */

/** What the demo records each sampling period (a subset of the load tool's sample). */
export interface DemoSample {
  /** Seconds since the clients began publishing. */
  t: number;
  /** The total line: clients connected by their own account (requests per second, a projection's lag). */
  connected: number;
  /** Live connections per running node, from the EMQX API; null when it did not answer. */
  nodes: Record<string, number> | null;
  /** Series on a second axis at the right, e.g. queries per second by release and failed queries. */
  right?: Record<string, number>;
}

export interface ChartLabels {
  y: string;
  total: string;
  /** The right axis' label; its series come from each sample's `right`. */
  right?: string;
}

export interface StepMarker {
  t: number;
  label: string;
}

export interface NodeEviction {
  node: string;
  /** Connections closed between the first observed drop and the node reaching 0. */
  evicted: number;
  seconds: number;
  rate: number;
}

const parse = (v: string): number[] | undefined => (/^\d+\.\d+\.\d+$/.test(v) ? v.split('.').map(Number) : undefined);
const compare = (a: number[], b: number[]): number => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;

/**
 * The version a rerun of the demo upgrades to: `wanted` unless a version as
 * new is running or was tried by an earlier upgrade, else the next patch above
 * all of them, so the demo always has a real upgrade to show and never reuses
 * the release name of a rolled-back attempt.
 */
export function demoVersion(seen: string[], wanted = '5.8.0'): string {
  const w = parse(wanted);
  const versions = seen.map(parse).filter((v): v is number[] => v !== undefined);
  if (!w || versions.length === 0) return wanted;
  const newest = versions.sort(compare).at(-1)!;
  return compare(newest, w) < 0 ? wanted : `${newest[0]}.${newest[1]}.${newest[2]! + 1}`;
}

/**
 * Measured connection eviction rate of every node that was emptied while
 * sampled. The sandbox (as EMQX) evicts a batch of `rate` connections once a
 * second, so the rate is the connections closed after the first observed batch
 * divided by the time from that batch to the node reaching 0 (the count before
 * the first batch would add a whole batch with no time to it). A node emptied
 * in one batch gives no measure.
 */
export function evictionRates(samples: readonly DemoSample[]): NodeEviction[] {
  const nodes = [...new Set(samples.flatMap((s) => Object.keys(s.nodes ?? {})))].sort();
  const out: NodeEviction[] = [];
  for (const node of nodes) {
    const series = samples.flatMap((s) => (s.nodes && node in s.nodes ? [{ t: s.t, n: s.nodes[node]! }] : []));
    const firstDrop = series.findIndex((p, i) => i > 0 && p.n < series[i - 1]!.n);
    if (firstDrop < 0) continue;
    const zero = series.findIndex((p, i) => i >= firstDrop && p.n === 0);
    if (zero <= firstDrop) continue;
    const evicted = series[firstDrop]!.n;
    const seconds = series[zero]!.t - series[firstDrop]!.t;
    out.push({ node, evicted, seconds: round(seconds, 2), rate: round(evicted / seconds, 2) });
  }
  return out;
}

export interface DemoSummary {
  version: string;
  status: string;
  durationSec: number;
  clients: number;
  minConnected: number;
  minConnectedPct: number;
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  requestedConnEvictRate: number;
  /** Mean of the per-node measures; null when no node gave one. */
  measuredConnEvictRate: number | null;
  evictions: NodeEviction[];
}

export interface LoadFigures {
  clients: number;
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  minConnected: number;
}

export function summarizeDemo(a: {
  version: string;
  status: string;
  durationSec: number;
  load: LoadFigures;
  samples: readonly DemoSample[];
  requestedConnEvictRate: number;
}): DemoSummary {
  const evictions = evictionRates(a.samples);
  const { clients, sent, received, lost, duplicated, minConnected } = a.load;
  return {
    version: a.version,
    status: a.status,
    durationSec: round(a.durationSec, 1),
    clients,
    minConnected,
    minConnectedPct: round((100 * minConnected) / clients, 2),
    sent,
    received,
    lost,
    duplicated,
    requestedConnEvictRate: a.requestedConnEvictRate,
    measuredConnEvictRate: evictions.length ? round(evictions.reduce((s, e) => s + e.rate, 0) / evictions.length, 2) : null,
    evictions,
  };
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** 1, 2 or 5 times a power of ten, so that about `count` ticks cover `max`. */
function tickStep(max: number, count: number): number {
  const raw = Math.max(max, 1) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

/** 1200, 25k, 1.5M: tick labels that fit left of the axis. */
const tickLabel = (v: number): string => (v >= 1e6 ? `${round(v / 1e6, 2)}M` : v >= 1e4 ? `${round(v / 1e3, 1)}k` : String(v));

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Connections per node over time, one polyline per node (absent while the node
 * was not running), the clients' own total, a dashed marker per step, and the
 * samples' `right` series (dashed) on an axis of their own.
 */
export function connectionsSvg(samples: readonly DemoSample[], markers: readonly StepMarker[], title: string, labels: ChartLabels = { y: 'connections', total: 'total (clients)' }): string {
  const [W, H, L, R, T, B] = [1100, 560, 70, 260, 50, 60];
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const yMax = Math.max(1, ...samples.flatMap((s) => [s.connected, ...Object.values(s.nodes ?? {})]));
  const xStep = tickStep(tMax, 10);
  const yStep = tickStep(yMax, 8);
  // Headroom above the total, so its dips are not drawn on the frame.
  const yTop = Math.ceil((yMax * 1.05) / yStep) * yStep;
  const x = (t: number): number => round(L + ((W - L - R) * t) / tMax, 1);
  const y = (v: number): number => round(H - B - ((H - T - B) * v) / yTop, 1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>`,
  ];
  for (let v = 0; v <= yTop; v += yStep) {
    out.push(`<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#e5e5e5"/>`, `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${tickLabel(v)}</text>`);
  }
  for (let t = 0; t <= tMax; t += xStep) out.push(`<text x="${x(t)}" y="${H - B + 18}" text-anchor="middle">${t}</text>`);
  out.push(
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 16}" text-anchor="middle">time (s)</text>`,
    `<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(labels.y)}</text>`,
  );
  // Steps close together get their labels in lanes further down, so none overlap.
  const lanes: number[] = [];
  for (const m of markers) {
    let lane = lanes.findIndex((lastX) => x(m.t) - lastX >= 12);
    if (lane < 0) lane = lanes.push(0) - 1;
    lanes[lane] = x(m.t);
    out.push(
      `<line x1="${x(m.t)}" y1="${T}" x2="${x(m.t)}" y2="${H - B}" stroke="#999" stroke-dasharray="4 4"/>`,
      `<text transform="translate(${x(m.t) + 3} ${T + 4 + lane * 80}) rotate(90)" fill="#555" font-size="10">${esc(m.label)}</text>`,
    );
  }
  const series: { name: string; color: string; width: number; dashed?: boolean; runs: string[] }[] = [];
  const nodes = [...new Set(samples.flatMap((s) => Object.keys(s.nodes ?? {})))].sort();
  nodes.forEach((node, i) => series.push({ name: node, color: PALETTE[i % PALETTE.length]!, width: 1.5, runs: runsOf(samples, (s) => s.nodes?.[node], x, y) }));
  series.push({ name: labels.total, color: 'black', width: 2.5, runs: runsOf(samples, (s) => s.connected, x, y) });
  const right = [...new Set(samples.flatMap((s) => Object.keys(s.right ?? {})))];
  // The legend starts right of the second axis' tick labels when there is one.
  const legendX = W - R + (right.length ? 60 : 12);
  if (right.length) {
    const rMax = Math.max(1, ...samples.flatMap((s) => Object.values(s.right ?? {})));
    const rStep = tickStep(rMax, 8);
    const rTop = Math.ceil((rMax * 1.05) / rStep) * rStep;
    const ry = (v: number): number => round(H - B - ((H - T - B) * v) / rTop, 1);
    out.push(`<line x1="${W - R}" y1="${T}" x2="${W - R}" y2="${H - B}" stroke="black"/>`);
    for (let v = 0; v <= rTop; v += rStep) out.push(`<text x="${W - R + 6}" y="${ry(v) + 4}">${tickLabel(v)}</text>`);
    out.push(`<text transform="translate(${W - R + 48} ${(T + H - B) / 2}) rotate(90)" text-anchor="middle">${esc(labels.right ?? '')}</text>`);
    right.forEach((name, i) =>
      series.push({ name, color: PALETTE[(nodes.length + i) % PALETTE.length]!, width: 1.5, dashed: true, runs: runsOf(samples, (s) => s.right?.[name], x, ry) }),
    );
  }
  series.forEach((s, i) => {
    const dash = s.dashed ? ' stroke-dasharray="6 3"' : '';
    for (const points of s.runs) out.push(`<polyline data-series="${esc(s.name)}" fill="none" stroke="${s.color}" stroke-width="${s.width}"${dash} points="${points}"/>`);
    const ly = T + 10 + i * 18;
    out.push(`<line x1="${legendX}" y1="${ly}" x2="${legendX + 20}" y2="${ly}" stroke="${s.color}" stroke-width="${s.width}"${dash}/>`, `<text x="${legendX + 26}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The points of a series, split where it has no value (a node not running). */
function runsOf(samples: readonly DemoSample[], value: (s: DemoSample) => number | undefined, x: (t: number) => number, y: (v: number) => number): string[] {
  const runs: string[][] = [[]];
  for (const s of samples) {
    const v = value(s);
    if (v === undefined) {
      if (runs.at(-1)!.length) runs.push([]);
    } else runs.at(-1)!.push(`${x(s.t)},${y(v)}`);
  }
  return runs.filter((r) => r.length).map((r) => r.join(' '));
}
