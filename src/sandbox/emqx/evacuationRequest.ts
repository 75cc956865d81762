/**
 * The body of `POST /api/v5/load_rebalance/{node}/evacuation/start` as EMQX's
 * schema checks it at a version (fields(rebalance_evacuation_start) in
 * emqx_node_rebalance_api.erl, checked by hocon_tconf through
 * emqx_dashboard_swagger): the fields, their types, the defaults of
 * emqx_node_rebalance.hrl, and the 400 messages, which are hocon's validation
 * errors as JSON. Pure, so every stand-in of this API shares it.
 */
import { parseDuration } from '../../domain/duration';
import { apiShape } from '../../domain/emqx/versions';

export interface EvacuationRequest {
  connRate: number;
  sessRate: number;
  waitTakeoverSec: number;
  waitHealthCheckSec: number;
  migrateTo?: string[];
}

/** The fields the schema knows from 5.1.0 (`redirect_to` is accepted and never read: the evacuation reads `server_reference`). */
const FIELDS = ['wait_health_check', 'conn_evict_rate', 'sess_evict_rate', 'redirect_to', 'wait_takeover', 'migrate_to'];
/** emqx_node_rebalance.hrl */
const DEFAULTS = { conn_evict_rate: 500, sess_evict_rate: 500, wait_takeover: 60, wait_health_check: 60 };
/** emqx_schema.hrl ?MAX_INT_TIMEOUT_S: 0..4294967 seconds. */
const MAX_TIMEOUT_S = 4_294_967;

/** emqx_schema:timeout_duration_s(): an integer of seconds, or a duration string rounded up to seconds. */
function timeoutDurationS(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= MAX_TIMEOUT_S ? v : null;
  if (typeof v !== 'string') return null;
  try {
    const s = Math.ceil(parseDuration(v.trim()) / 1000);
    return s <= MAX_TIMEOUT_S ? s : null;
  } catch {
    return null;
  }
}

/** pos_integer(): an integer above 0 (a string of digits converts, as typerefl does). */
function posInteger(v: unknown): number | null {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : null;
}

/** hocon's names list: sorted, two shown, then ",..." (hocon_tconf fmt_field_names). */
function fieldNames(names: string[]): string {
  const sorted = [...names].sort();
  return sorted.length === 0 ? 'none' : sorted.length <= 2 ? sorted.join(',') : `${sorted.slice(0, 2).join(',')},...`;
}

const invalid = (field: string, reason: string, value: unknown): { badRequest: string } => ({
  badRequest: JSON.stringify({ kind: 'validation_error', path: `root.${field}`, reason, value }),
});

/** The request with EMQX's defaults, or the message of EMQX's 400 BAD_REQUEST. */
export function parseEvacuationRequest(version: string, body: unknown): EvacuationRequest | { badRequest: string } {
  if (body === undefined) body = {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { badRequest: JSON.stringify({ kind: 'validation_error', path: 'root', reason: 'bad_value_for_struct', value: body }) };
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) {
    const unmatched = FIELDS.filter((f) => !(f in b));
    return { badRequest: JSON.stringify({ kind: 'validation_error', path: 'root', reason: 'unknown_fields', unknown: fieldNames(unknown), unmatched: fieldNames(unmatched) }) };
  }
  const connRate = posInteger(b.conn_evict_rate ?? DEFAULTS.conn_evict_rate);
  if (connRate === null) return invalid('conn_evict_rate', 'expected pos_integer()', b.conn_evict_rate);
  const sessRate = posInteger(b.sess_evict_rate ?? DEFAULTS.sess_evict_rate);
  if (sessRate === null) return invalid('sess_evict_rate', 'expected pos_integer()', b.sess_evict_rate);
  // 5.1.0: pos_integer(); from 5.1.1: emqx_schema:timeout_duration_s()
  const waitTakeoverSec = apiShape(version).waitTakeover === 'pos_integer' ? posInteger(b.wait_takeover ?? DEFAULTS.wait_takeover) : timeoutDurationS(b.wait_takeover ?? DEFAULTS.wait_takeover);
  if (waitTakeoverSec === null) return invalid('wait_takeover', 'not a valid wait_takeover', b.wait_takeover);
  const waitHealthCheckSec = timeoutDurationS(b.wait_health_check ?? DEFAULTS.wait_health_check);
  if (waitHealthCheckSec === null) return invalid('wait_health_check', 'not a valid wait_health_check', b.wait_health_check);
  if (b.redirect_to !== undefined && typeof b.redirect_to !== 'string') return invalid('redirect_to', 'expected binary()', b.redirect_to);
  const m = b.migrate_to;
  if (m !== undefined && (!Array.isArray(m) || m.length === 0 || !m.every((x) => typeof x === 'string'))) {
    return invalid('migrate_to', 'expected nonempty_list(binary())', m);
  }
  return { connRate, sessRate, waitTakeoverSec, waitHealthCheckSec, ...(m === undefined ? {} : { migrateTo: m as string[] }) };
}
