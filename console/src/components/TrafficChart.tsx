/** Green's share of traffic over time: a step line from the traffic plan and what this page saw while it followed the upgrade. */
import type { TrafficPoint } from '../../../src/view/traffic';

const W = 600;
const H = 140;
const PAD = 28;

export function TrafficChart({ points }: { points: TrafficPoint[] }) {
  if (points.length < 2) return null;
  const times = points.map((p) => Date.parse(p.at));
  const t0 = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - t0);
  const x = (t: number) => PAD + ((t - t0) / span) * (W - 2 * PAD);
  const y = (green: number) => H - PAD - (green / 100) * (H - 2 * PAD);
  const path = points.map((p, i) => `${i ? `H${x(times[i]).toFixed(1)}V` : `M${x(times[i]).toFixed(1)} `}${y(p.green).toFixed(1)}`).join(' ');
  return (
    <section className="traffic">
      <h3>Traffic to green</h3>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="green's share of traffic over time">
        {[0, 50, 100].map((g) => (
          <g key={g}>
            <line x1={PAD} x2={W - PAD} y1={y(g)} y2={y(g)} className="grid" />
            <text x={4} y={y(g) + 4}>
              {g}%
            </text>
          </g>
        ))}
        <path d={path} className="line" />
        <text x={PAD} y={H - 6}>
          {new Date(t0).toLocaleTimeString()}
        </text>
        <text x={W - PAD} y={H - 6} textAnchor="end">
          {new Date(t0 + span).toLocaleTimeString()}
        </text>
      </svg>
    </section>
  );
}
