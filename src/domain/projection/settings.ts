/** How a projection upgrade watches green catch up, in the workflow's units. */
export interface ProjectionSettings {
  maxLag: number;
  holdMs: number;
  stallAfterMs: number;
  stallTimeoutMs: number;
  pollMs: number;
}

export const PROJECTION_DEFAULTS: ProjectionSettings = { maxLag: 100, holdMs: 10_000, stallAfterMs: 30_000, stallTimeoutMs: 600_000, pollMs: 5000 };

/** Settings from the upgrade request (already validated), over the defaults. */
export function projectionSettings(settings: Record<string, unknown>): ProjectionSettings {
  return { ...PROJECTION_DEFAULTS, ...((settings.projection ?? {}) as Partial<ProjectionSettings>) };
}
