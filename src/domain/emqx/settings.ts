/** How an EMQX upgrade drains blue, with the EMQX Operator's defaults where it has them; durations in milliseconds. */
import { withDefaults } from '../withDefaults';
import type { DrainRequest } from './versions';

export interface EmqxSettings {
  /** Evacuation or pod removal, decided at plan from blue's version and edition (auto), or insisted on. */
  drain: DrainRequest;
  connEvictRate: number;
  sessEvictRate: number;
  /**
   * EMQX's wait_takeover: after a node's connections are evicted, how long its clients have to take their
   * sessions over elsewhere before it migrates the rest; cutover also waits this long after each node.
   */
  waitTakeoverMs: number;
  /** EMQX's wait_health_check: how long an evacuating node waits, so a load balancer's health check drops it, before it evicts anyone. */
  waitHealthCheckMs: number;
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
  waitTakeoverMs: 10_000,
  waitHealthCheckMs: 10_000,
  initialDelayMs: 10_000,
  drainIntervalMs: 30_000,
  scaleDownDuringDrain: false,
};

/**
 * EMQX settings as an upgrade's input holds them: complete, or, in inputs
 * recorded before settings were complete, only what was given, with the two
 * waits in whole seconds.
 */
export type RecordedEmqxSettings = Partial<EmqxSettings> & { waitTakeoverSec?: number; waitHealthCheckSec?: number };

/** Every EMQX setting: what was given over the defaults, older inputs' seconds in milliseconds. */
export function completeEmqxSettings(recorded: RecordedEmqxSettings): EmqxSettings {
  const { waitTakeoverSec, waitHealthCheckSec, ...given } = recorded;
  const seconds = (s?: number) => (s === undefined ? undefined : s * 1000);
  return withDefaults(EMQX_DEFAULTS, { waitTakeoverMs: seconds(waitTakeoverSec), waitHealthCheckMs: seconds(waitHealthCheckSec), ...given });
}
