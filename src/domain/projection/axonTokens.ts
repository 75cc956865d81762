/**
 * Axon tracking tokens (XStream XML or Jackson JSON, as the token table
 * stores them) reduced to the one number catch-up needs: the highest global
 * index the segment has processed. -1 means "nothing processed yet".
 *
 * GlobalSequenceTrackingToken{globalIndex} and GapAwareTrackingToken{index,
 * gaps} carry it; a ReplayToken counts by its currentToken (null while the
 * replay has not handled an event); a MergedTrackingToken (segments being
 * merged) and a MultiSourceTrackingToken count by their slowest part.
 */

export const NO_POSITION = -1;

/** Axon's ConfigToken (the `__config` row) holds settings, not a position. */
export const CONFIG_TOKEN_TYPE = 'org.axonframework.eventhandling.tokenstore.ConfigToken';

export class TokenFormatError extends Error {
  override name = 'TokenFormatError';
}

/** A token as stored: its bytes (bytea, or a large object read with lo_get) and its type column. */
export function axonTokenPosition(token: Buffer | string | null, tokenType?: string | null): number | undefined {
  if (tokenType === CONFIG_TOKEN_TYPE) return undefined;
  if (token === null) return NO_POSITION; // a claimed segment that starts from the tail
  const text = (typeof token === 'string' ? token : token.toString('utf8')).trim();
  if (text === '') return NO_POSITION;
  if (text.startsWith('{')) return jsonPosition(JSON.parse(text) as unknown, tokenType ?? 'token');
  if (text.startsWith('<')) return xmlPosition(parseXml(text));
  throw new TokenFormatError(`token of type ${tokenType ?? 'unknown'} is neither XML nor JSON: ${text.slice(0, 40)}`);
}

// ---- JSON (Jackson) ----

function jsonPosition(v: unknown, where: string): number {
  if (v === null || v === undefined) return NO_POSITION;
  if (typeof v !== 'object' || Array.isArray(v)) throw new TokenFormatError(`${where}: not a token object`);
  const o = v as Record<string, unknown>;
  if ('globalIndex' in o) return toNumber(o.globalIndex, `${where}.globalIndex`);
  if ('index' in o) return toNumber(o.index, `${where}.index`);
  if ('currentToken' in o || 'tokenAtReset' in o) return jsonPosition(o.currentToken, `${where}.currentToken`);
  if ('lowerSegmentToken' in o || 'upperSegmentToken' in o) {
    return Math.min(jsonPosition(o.lowerSegmentToken, `${where}.lowerSegmentToken`), jsonPosition(o.upperSegmentToken, `${where}.upperSegmentToken`));
  }
  if ('trackingTokens' in o && o.trackingTokens && typeof o.trackingTokens === 'object') {
    const parts = Object.entries(o.trackingTokens as Record<string, unknown>).map(([k, t]) => jsonPosition(t, `${where}.trackingTokens.${k}`));
    return parts.length ? Math.min(...parts) : NO_POSITION;
  }
  throw new TokenFormatError(`${where}: no position in a token with fields ${Object.keys(o).join(', ') || '(none)'}`);
}

function toNumber(v: unknown, where: string): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new TokenFormatError(`${where}: not a number`);
  return n;
}

// ---- XML (XStream) ----

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

function child(e: XmlElement, name: string): XmlElement | undefined {
  return e.children.find((c) => c.name === name);
}

function xmlPosition(e: XmlElement): number {
  const where = e.name;
  const globalIndex = child(e, 'globalIndex') ?? child(e, 'index');
  if (globalIndex) return toNumber(globalIndex.text.trim(), `${where}.${globalIndex.name}`);
  const current = child(e, 'currentToken');
  if (current || child(e, 'tokenAtReset')) return current && current.attrs.null !== 'true' && current.children.length ? xmlPosition(current) : NO_POSITION;
  const lower = child(e, 'lowerSegmentToken');
  const upper = child(e, 'upperSegmentToken');
  if (lower || upper) return Math.min(lower ? xmlPosition(lower) : NO_POSITION, upper ? xmlPosition(upper) : NO_POSITION);
  const sources = child(e, 'trackingTokens');
  if (sources) {
    // XStream writes a map as <entry><string>source</string><token-class>…</token-class></entry>
    const parts = sources.children.map((entry) => {
      const token = entry.children.find((c) => c.name !== 'string');
      return token ? xmlPosition(token) : NO_POSITION;
    });
    return parts.length ? Math.min(...parts) : NO_POSITION;
  }
  throw new TokenFormatError(`${where}: no position in a token with elements ${e.children.map((c) => c.name).join(', ') || '(none)'}`);
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Enough XML for XStream's output: elements, attributes, text, entities; no DTDs or CDATA. */
function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const tag = /<(\/?)([A-Za-z_][\w.\-:$]*)([^>]*?)(\/?)>|<\?[^>]*\?>|<!--[\s\S]*?-->|([^<]+)/g;
  for (const m of text.matchAll(tag)) {
    const top = stack[stack.length - 1];
    if (m[5] !== undefined) {
      top.text += m[5].replace(/&(\w+);/g, (all, e: string) => ENTITIES[e] ?? all);
      continue;
    }
    if (!m[2]) continue; // declaration or comment
    if (m[1]) {
      if (top.name !== m[2]) throw new TokenFormatError(`XML token: </${m[2]}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of m[3].matchAll(/([\w.\-:]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]] = a[2];
    const el: XmlElement = { name: m[2], attrs, children: [], text: '' };
    top.children.push(el);
    if (!m[4]) stack.push(el);
  }
  if (stack.length !== 1 || root.children.length !== 1) throw new TokenFormatError('XML token: not one well-formed element');
  return root.children[0];
}
