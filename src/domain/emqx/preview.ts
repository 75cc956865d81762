/** What an EMQX upgrade does at each step on a target, for a preview: from the settings and what plan read of blue's cluster. */
import { formatDuration } from '../duration';
import { count, type KindPreview, type KindPreviewInput } from '../kindPreview';
import type { EmqxSettings } from './settings';
import type { DrainMode } from './versions';

/** What the EMQX strategy's plan decided (src/workflows/strategies/emqx.ts). */
export interface EmqxPlanned {
  /** What plan read of blue's nodes and decided, e.g. "EMQX 5.7.0 (Opensource); drain by evacuation". */
  note: string;
  drain: DrainMode;
  /** Blue's cores find each other by static seeds: green's name blue's nodes and their own. */
  staticCores: boolean;
}

export function previewEmqx({ settings: s, planned, blue, green, image }: KindPreviewInput<EmqxSettings, EmqxPlanned>): KindPreview {
  const n = blue.replicas;
  const d = formatDuration;
  const evacuation = planned.drain === 'evacuation';
  const scaled = s.scaleDownDuringDrain;
  const drainBlue = evacuation
    ? {
        does:
          `after ${d(s.initialDelayMs)}, evacuate blue's ${count(n, 'node')} one at a time (replicants first, then cores from the highest) onto green's, ` +
          `at ${s.connEvictRate} connections/s and ${s.sessEvictRate} sessions/s (EMQX's wait_health_check ${d(s.waitHealthCheckMs)}, wait_takeover ${d(s.waitTakeoverMs)}), ` +
          `then wait ${d(s.waitTakeoverMs)} after each; ` +
          (scaled ? 'each blue node is removed once drained' : 'blue then stands by whole, every node prohibiting, so a rollback has it back at once'),
        undo: `stop the evacuation of every blue node, so blue takes clients again at once${scaled ? `; scale ${blue.name} back to ${n} and wait for its nodes to rejoin` : ''}`,
        atLeastMs: s.initialDelayMs + n * (s.waitHealthCheckMs + 2 * s.waitTakeoverMs),
        waitsFor: `each blue node's clients to be evicted at ${s.connEvictRate} connections/s and ${s.sessEvictRate} sessions/s`,
      }
    : {
        does: scaled
          ? `no node evacuation on blue's EMQX: after ${d(s.initialDelayMs)}, remove blue's ${count(n, 'pod')} one every ${d(s.drainIntervalMs)}; their clients reconnect to green through the Service`
          : `no node evacuation on blue's EMQX: blue keeps its clients until cleanUpBlue removes its pods`,
        undo: scaled ? `scale ${blue.name} back to ${n} and wait for its nodes to rejoin` : undefined,
        atLeastMs: s.initialDelayMs + (scaled ? n * s.drainIntervalMs : 0),
      };
  return {
    greenReplicas: n,
    found: planned.note,
    steps: {
      deployGreen: {
        does:
          `create ${green.name} with ${count(n, 'node')}${image ? ` (image ${image})` : ''} beside ${blue.name}; they join blue's EMQX cluster` +
          (planned.staticCores ? " (static seeds: green's cores name blue's nodes and their own)" : ''),
        undo: evacuation
          ? `evacuate green's running nodes back to blue's, delete ${green.name} and remove its nodes from the cluster`
          : `delete ${green.name} (its clients reconnect to blue through the Service) and remove its nodes from the cluster`,
      },
      waitReady: {
        does: `wait until every pod of ${green.name} is ready and its ${count(n, 'node')} ha${n === 1 ? 's' : 've'} joined the cluster as running members`,
        waitsFor: `${green.name}'s ${count(n, 'pod')} to start and join the cluster`,
      },
      verify: { does: `check that all ${2 * n} nodes, blue's and green's, are running members of the cluster (read again until they are)` },
      drainBlue,
      cleanUpBlue: {
        does:
          (scaled ? '' : `remove blue's nodes one at a time${evacuation ? '' : `, ${d(s.drainIntervalMs)} apart`}, then `) +
          `delete ${blue.name} and remove its nodes from the cluster`,
        atLeastMs: !evacuation && !scaled ? (n - 1) * s.drainIntervalMs : 0,
      },
    },
  };
}
