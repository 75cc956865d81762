/** How a Kong upgrade runs; durations in milliseconds. */
import { withDefaults } from '../withDefaults';

export interface KongSettings {
  finishPending: boolean;
  backup: boolean;
  smoke: { method: string; path: string; status: number }[];
  /** How long cleanUpBlue waits for the requests on blue's nodes to end before it removes blue anyway. */
  drainTimeoutMs: number;
}

/** 90 s: a request in flight ends within a service's read_timeout (60 s by default, kong/db/schema/entities/services.lua), plus a margin. */
export const KONG_DEFAULTS: KongSettings = { finishPending: false, backup: true, smoke: [], drainTimeoutMs: 90_000 };

/** Every Kong setting: what was given (in inputs recorded before settings were complete, only that) over the defaults. */
export function completeKongSettings(recorded: Partial<KongSettings>): KongSettings {
  return withDefaults(KONG_DEFAULTS, recorded);
}
