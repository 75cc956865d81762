/** What a projection upgrade does at each step on a target, for a preview: from the settings. */
import { formatDuration } from '../duration';
import { count, type KindPreview, type KindPreviewInput } from '../kindPreview';
import type { ProjectionSettings } from './settings';

/** Green runs one replica: one processor rebuilds its read model (src/workflows/strategies/projection.ts). */
export const GREEN_REPLICAS = 1;

/** The projection strategy's plan decides nothing from the target: it reads the event store as the catch-up will, or refuses. */
export type ProjectionPlanned = Record<string, never>;

export function previewProjection({ settings: s, blue, green, image }: KindPreviewInput<ProjectionSettings, ProjectionPlanned>): KindPreview {
  const d = formatDuration;
  return {
    greenReplicas: GREEN_REPLICAS,
    found: `the event store reads as ${blue.name}'s catch-up would read it`,
    steps: {
      prepare: { does: `create the database and role of ${green.name}`, undo: `drop the database of ${green.name}` },
      deployGreen: {
        does: `start ${green.name} (${count(GREEN_REPLICAS, 'replica')}${image ? `, image ${image}` : ''}, its own event processor and database) beside ${blue.name}; it replays the event store while blue serves`,
        undo: `stop ${green.name}, once it has answered the queries routed to it`,
      },
      waitReady: {
        does:
          `wait until ${green.name} runs and its processor has caught up with the event store: a lag of at most ${s.maxLag} events for ${d(s.holdMs)}, read every ${d(s.pollMs)} ` +
          `(no progress for ${d(s.stallAfterMs)} is a stall; a stall of ${d(s.stallTimeoutMs)} fails the step)`,
        atLeastMs: s.holdMs,
        waitsFor: `${green.name} to replay the event store (lag, rate and ETA under details.catchUp while it runs)`,
      },
      cleanUpBlue: { does: `stop ${blue.name}, then drop its database` },
    },
  };
}
