/** Green's share of traffic over time, from the traffic plan's steps and the phase transitions of a rollback. */
import type { UpgradeView } from './upgradeView';

export interface TrafficPoint {
  at: string;
  green: number;
}

export function trafficSeries(u: UpgradeView): TrafficPoint[] {
  const points: TrafficPoint[] = [{ at: u.startedAt, green: 0 }];
  for (const s of u.trafficSteps ?? []) if (s.startedAt) points.push({ at: s.startedAt, green: s.weight });
  // a rollback puts traffic back on blue as green leaves SERVING
  const green = u.releases.green?.name;
  const back = u.transitions.find((t) => t.what === 'phase' && t.release === green && t.from === 'SERVING' && t.to === 'CLEANING_UP');
  if (back) points.push({ at: back.at, green: 0 });
  // up to now (or the end): the split as it is
  points.push({ at: u.endedAt ?? new Date().toISOString(), green: u.traffic.green });
  return points.sort((a, b) => a.at.localeCompare(b.at));
}
