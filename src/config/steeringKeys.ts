/**
 * The keys the API signs steering requests with and the workers verify them
 * with (HMAC-SHA256 over src/domain/steering.ts's content). They come from
 * CUTOVER_STEERING_KEYS or the file CUTOVER_STEERING_KEYS_FILE names (a
 * mounted Secret), never from the config file and never into a history: the
 * workflow learns only a verification's yes or no. Several keys rotate: the
 * first signs, every one verifies.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signedContent, type SignedContent, type SteeringSignature } from '../domain/steering';
import { ConfigError } from './schemaErrors';

/** An HMAC key shorter than its hash's output (32 bytes for SHA-256) is weaker than the hash. */
export const MIN_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;

export interface SteeringKey {
  id: string;
  secret: Buffer;
}

export type Verdict = { valid: true; keyId: string } | { valid: false; reason: string };

export class SteeringKeys {
  constructor(readonly keys: SteeringKey[]) {
    if (!keys.length) throw new Error('SteeringKeys needs at least one key');
  }

  /** A key of its own for a process that is both API and worker (the embedded default): nothing to share. */
  static random(): SteeringKeys {
    return new SteeringKeys([{ id: 'embedded', secret: randomBytes(MIN_KEY_BYTES) }]);
  }

  sign(content: SignedContent): SteeringSignature {
    const key = this.keys[0];
    return { keyId: key.id, mac: mac(key.secret, content) };
  }

  /** The request with its signature, ready to send in the update the content names. */
  signed<R extends object>(content: Omit<SignedContent, 'request'> & { request: R }): R & { signature: SteeringSignature } {
    return { ...content.request, signature: this.sign(content as SignedContent) };
  }

  verify(content: SignedContent, signature: SteeringSignature): Verdict {
    const key = this.keys.find((k) => k.id === signature.keyId);
    if (!key) return { valid: false, reason: `signed with key ${JSON.stringify(signature.keyId)}, which this worker does not hold` };
    const expected = Buffer.from(mac(key.secret, content));
    const given = Buffer.from(String(signature.mac));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { valid: false, reason: `the signature does not match the request (key ${key.id})` };
    return { valid: true, keyId: key.id };
  }
}

const mac = (secret: Buffer, content: SignedContent): string => createHmac('sha256', secret).update(signedContent(content)).digest('base64url');

/**
 * `id:secret` entries, comma- or newline-separated, the signing key first.
 * Unset, a process that starts the embedded dev server makes a key of its own;
 * anything else must be given one (its API and workers are other processes).
 */
export function loadSteeringKeys(v: { CUTOVER_STEERING_KEYS?: string; CUTOVER_STEERING_KEYS_FILE?: string }, embedded: boolean): SteeringKeys {
  const [name, text] = v.CUTOVER_STEERING_KEYS_FILE
    ? ['CUTOVER_STEERING_KEYS_FILE', readKeyFile(v.CUTOVER_STEERING_KEYS_FILE)]
    : ['CUTOVER_STEERING_KEYS', v.CUTOVER_STEERING_KEYS];
  if (!text) {
    if (embedded) return SteeringKeys.random();
    throw new ConfigError(
      'invalid environment:\n  - CUTOVER_STEERING_KEYS (or CUTOVER_STEERING_KEYS_FILE) is not set: the API signs steering requests and the workers verify them with ' +
        `a shared key. Set it to <id>:<secret of at least ${MIN_KEY_BYTES} bytes>, e.g. k1:$(openssl rand -base64 48), the same for the API and the workers.`,
    );
  }
  const keys: SteeringKey[] = [];
  const problems: string[] = [];
  for (const entry of text.split(/[,\n]/).map((e) => e.trim()).filter(Boolean)) {
    const at = entry.indexOf(':');
    const id = at > 0 ? entry.slice(0, at) : '';
    const secret = Buffer.from(entry.slice(at + 1), 'utf8');
    if (!KEY_ID.test(id)) problems.push(`an entry does not start with a key id (letters, digits, . _ -, at most 32) and a colon`);
    else if (secret.length < MIN_KEY_BYTES) problems.push(`key ${id} has ${secret.length} bytes; it needs at least ${MIN_KEY_BYTES}`);
    else if (keys.some((k) => k.id === id)) problems.push(`key id ${id} is given twice`);
    else keys.push({ id, secret });
  }
  if (!keys.length && !problems.length) problems.push('it holds no key');
  if (problems.length) {
    throw new ConfigError(`invalid environment:\n${problems.map((p) => `  - ${name}: ${p}. Set it to <id>:<secret>[,<id>:<secret>...], the signing key first.`).join('\n')}`);
  }
  return new SteeringKeys(keys);
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`invalid environment:\n  - CUTOVER_STEERING_KEYS_FILE=${JSON.stringify(path)} cannot be read: ${(err as Error).message}`);
  }
}
