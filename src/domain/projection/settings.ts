/** How a projection upgrade watches green catch up; durations in milliseconds. */
import { withDefaults } from '../withDefaults';

export interface ProjectionSettings {
  maxLag: number;
  holdMs: number;
  stallAfterMs: number;
  stallTimeoutMs: number;
  pollMs: number;
}

export const PROJECTION_DEFAULTS: ProjectionSettings = { maxLag: 100, holdMs: 10_000, stallAfterMs: 30_000, stallTimeoutMs: 600_000, pollMs: 5000 };

/** Every projection setting: what was given (in inputs recorded before settings were complete, only that) over the defaults. */
export function completeProjectionSettings(recorded: Partial<ProjectionSettings>): ProjectionSettings {
  return withDefaults(PROJECTION_DEFAULTS, recorded);
}
