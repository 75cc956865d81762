/** How an EMQX upgrade drains blue, with the EMQX Operator's defaults where it has them. */
import type { DrainRequest } from './versions';

export interface EmqxSettings {
  /** Evacuation or pod removal, decided at plan from blue's version and edition (auto), or insisted on. */
  drain: DrainRequest;
  connEvictRate: number;
  sessEvictRate: number;
  waitTakeoverSec: number;
  waitHealthCheckSec: number;
  /** Pause after the Service switch before the first evacuation (operator: initialDelaySeconds). */
  initialDelayMs: number;
  /** Without the evacuation API: time between removing two blue pods. */
  drainIntervalMs: number;
  /**
   * The operator's behaviour: remove each blue node as soon as it is drained. Saves a
   * blue-sized set of pods during the standby window; a rollback then waits for blue's
   * pods to start and join again instead of having them at once.
   */
  scaleDownDuringDrain: boolean;
}

export const EMQX_DEFAULTS: EmqxSettings = {
  drain: 'auto',
  connEvictRate: 1000,
  sessEvictRate: 1000,
  waitTakeoverSec: 10,
  waitHealthCheckSec: 10,
  initialDelayMs: 10_000,
  drainIntervalMs: 30_000,
  scaleDownDuringDrain: false,
};

/** Settings from the upgrade request (already validated by the API), over the defaults. */
export function emqxSettings(settings: Record<string, unknown>): EmqxSettings {
  const given = (settings.emqx ?? {}) as Partial<EmqxSettings>;
  return { ...EMQX_DEFAULTS, ...given };
}
