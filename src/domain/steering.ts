/**
 * What the API signs when it steers an upgrade, so that a worker can tell a
 * request that came through the API (whose roles were checked) from one sent
 * straight to Temporal. The MAC covers the message's name, the run and the
 * update it travels in and every field of the request but the signature, so
 * a signed request copied from a history cannot be sent again: not as a
 * signal, not to another run, and not as another update (Temporal answers a
 * repeated update id with the first result).
 */

/** The messages the API sends: the steering updates and the ready report. */
export type SteeringMessage = 'approve' | 'rollback' | 'abort' | 'reportReady';

/** The API's signature of a steering request (HMAC-SHA256, base64url). */
export interface SteeringSignature {
  /** Which of the shared keys signed it (keys rotate: a worker verifies with each key it holds). */
  keyId: string;
  mac: string;
}

export interface SignedContent {
  message: SteeringMessage;
  workflowId: string;
  runId: string;
  /** The update the request travels in; a signal has none, so a signed request is never valid as a signal. */
  updateId: string;
  /** The request as sent, its signature left out. */
  request: Record<string, unknown>;
}

/** JSON with object keys sorted at every level: the same request gives the same bytes on both sides. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The bytes the MAC is computed over (versioned, so a later format cannot be confused with this one). */
export function signedContent(c: SignedContent): string {
  const request = Object.fromEntries(Object.entries(c.request).filter(([k]) => k !== 'signature'));
  return ['cutover-steering-v1', c.message, c.workflowId, c.runId, c.updateId, canonicalJson(request)].join('\n');
}
