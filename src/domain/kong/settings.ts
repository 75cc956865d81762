/** How a Kong upgrade runs, in the workflow's units. */
export interface KongSettings {
  finishPending: boolean;
  backup: boolean;
  smoke: { method: string; path: string; status: number }[];
  /** How long cleanUpBlue waits for the requests on blue's nodes to end before it removes blue anyway. */
  drainTimeoutMs: number;
}

/** 90 s: a request in flight ends within a service's read_timeout (60 s by default, kong/db/schema/entities/services.lua), plus a margin. */
export const KONG_DEFAULTS: KongSettings = { finishPending: false, backup: true, smoke: [], drainTimeoutMs: 90_000 };

/** Settings from the upgrade request (already validated by the API), over the defaults. */
export function kongSettings(settings: Record<string, unknown>): KongSettings {
  return { ...KONG_DEFAULTS, ...((settings.kong ?? {}) as Partial<KongSettings>) };
}
