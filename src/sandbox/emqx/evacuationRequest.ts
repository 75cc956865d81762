/**
 * The body of `POST /api/v5/load_rebalance/{node}/evacuation/start` as EMQX's
 * schema reads it (emqx_node_rebalance_api.erl): defaults, types and the
 * BAD_REQUEST messages. Pure, so any server of this API can share it.
 */
import { parseDuration } from '../../domain/duration';

export interface EvacuationRequest {
  connRate: number;
  sessRate: number;
  waitTakeoverSec: number;
  waitHealthCheckSec: number;
  redirectTo?: string;
  migrateTo?: string[];
}

/** `timeout_duration_s`: an integer of seconds or a duration string such as "10s" or "500ms". */
export function durationSeconds(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  try {
    return Math.ceil(parseDuration(v.trim()) / 1000);
  } catch {
    return null;
  }
}

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** The request, or the message of EMQX's 400 BAD_REQUEST. */
export function parseEvacuationRequest(body: unknown): EvacuationRequest | { badRequest: string } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const [connRate, sessRate] = [b.conn_evict_rate ?? 500, b.sess_evict_rate ?? 500];
  const [waitTakeoverSec, waitHealthCheckSec] = [durationSeconds(b.wait_takeover ?? 60), durationSeconds(b.wait_health_check ?? 60)];
  if (!posInt(connRate) || !posInt(sessRate)) return { badRequest: 'conn_evict_rate and sess_evict_rate must be positive integers' };
  if (waitTakeoverSec === null || waitHealthCheckSec === null) return { badRequest: 'wait_takeover and wait_health_check must be durations' };
  if (b.redirect_to !== undefined && typeof b.redirect_to !== 'string') return { badRequest: 'redirect_to must be a string' };
  const m = b.migrate_to;
  if (m !== undefined && (!Array.isArray(m) || m.length === 0 || !m.every((x) => typeof x === 'string'))) {
    return { badRequest: 'migrate_to must be a non-empty list of node names' };
  }
  return { connRate, sessRate, waitTakeoverSec, waitHealthCheckSec, redirectTo: b.redirect_to as string | undefined, migrateTo: m as string[] | undefined };
}
