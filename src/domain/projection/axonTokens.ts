/**
 * Axon Framework 4 tracking tokens as its token stores keep them (XStream XML
 * or Jackson JSON), reduced to the position Axon itself reports for a
 * segment: TrackingToken#position(), and 0 where a segment has none
 * (StreamingEventProcessorInfoMessage#getPosition, axon-server-connector,
 * axon-4.13.0). Each token is checked against a schema of what Axon writes
 * (tokens recorded from a real Axon 4.13 application in
 * test/fixtures/contracts/axon/4.13/), so a token of another shape fails
 * naming the field and what was found.
 *
 * What Axon writes (messaging/src/main/java/org/axonframework/eventhandling/*.java, axon-4.13.0):
 * GapAwareTrackingToken{index, gaps} from the JDBC and JPA event stores;
 * GlobalSequenceTrackingToken{globalIndex} (Axon Server, the legacy stores);
 * a ReplayToken{tokenAtReset, currentToken} for a processor that was reset,
 * and for every processor that starts from the tail until it passes the head
 * it started at: its position is its currentToken's, 0 while that is null;
 * a MergedTrackingToken{lowerSegmentToken, upperSegmentToken} while merged
 * segments catch up: the smaller of the two. A MultiSourceTrackingToken's
 * position is the sum of its sources', which no one event table's head
 * matches: it is refused.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CatchUpSourceUnsupported } from './source';

export const AXON = 'Axon Framework 4';

/** Axon's ConfigToken (the `__config` row) holds settings, not a position. */
export const CONFIG_TOKEN_TYPE = 'org.axonframework.eventhandling.tokenstore.ConfigToken';

/** A token Axon would not write, or one the axon preset cannot compare with the head. */
export class AxonTokenError extends CatchUpSourceUnsupported {
  override name = 'AxonTokenError';
}

const Position = Type.Integer({ description: 'a global index' });
const Nested = Type.Unknown();
/** The fields cutover reads of each token class Axon writes (others are left alone). */
const TOKENS: Record<string, TSchema> = {
  GlobalSequenceTrackingToken: Type.Object({ globalIndex: Position }),
  GapAwareTrackingToken: Type.Object({ index: Position }),
  // XStream leaves a null currentToken out; Jackson writes null
  ReplayToken: Type.Object({ tokenAtReset: Nested, currentToken: Type.Optional(Nested) }),
  MergedTrackingToken: Type.Object({ lowerSegmentToken: Nested, upperSegmentToken: Nested }),
};

/**
 * A stored token's reported position; undefined for the `__config` row. `where` names the row in messages
 * (processor and segment).
 */
export function axonTokenPosition(token: Uint8Array | string | null, tokenType: string | null, where: string): number | undefined {
  if (tokenType === CONFIG_TOKEN_TYPE) return undefined;
  // a segment claimed before it handled an event (a processor started on an empty store)
  if (token === null) return 0;
  const bytes = typeof token === 'string' ? Buffer.from(token, 'utf8') : Buffer.from(token);
  const text = bytes.toString('utf8').trim();
  const at = `${AXON} token of ${where} (${tokenType ?? 'no token type'})`;
  if (text.startsWith('{')) return position(parseJson(text, at), tokenType, at, '');
  if (text.startsWith('<')) return position(xmlTree(parseXml(text, at)), tokenType, at, '');
  const java = bytes[0] === 0xac && bytes[1] === 0xed;
  throw new AxonTokenError(
    `${at}: expected XStream XML or Jackson JSON, found ${java ? 'Java serialization' : `bytes starting 0x${bytes.subarray(0, 4).toString('hex')}`}: ` +
      "the axon preset reads tokens of Axon's XStream or Jackson serializer (axon.serializer.general: xstream or jackson); for another serializer use the http or sql preset",
  );
}

/** A value of the token tree: JSON as parsed, or XML elements as objects (integers as numbers, `class` as `@class`). */
type Tree = unknown;

function position(tree: Tree, declared: string | null, at: string, path: string): number {
  const field = path || 'token';
  if (tree === null || tree === undefined) return 0;
  if (typeof tree !== 'object' || Array.isArray(tree)) throw new AxonTokenError(`${at}: field ${field}: expected a token, found ${found(tree)}`);
  const o = tree as Record<string, unknown>;
  const type = simpleName((o['@class'] ?? o['@c'] ?? declared) as string | null);
  if (type === 'MultiSourceTrackingToken') {
    throw new AxonTokenError(
      `${at}: field ${field} is a MultiSourceTrackingToken (a processor reading several sources, whose position Axon reports as the sum of theirs): ` +
        'no one event table is its head; use the http or sql preset for it',
    );
  }
  const schema = type ? TOKENS[type] : undefined;
  if (!schema) throw new AxonTokenError(`${at}: field ${field}: expected one of ${Object.keys(TOKENS).join(', ')}, found ${type ? `a ${type}` : `a token of no type with fields ${Object.keys(o).join(', ') || '(none)'}`}`);
  const error = Value.Errors(schema, o).First();
  if (error) {
    const name = error.path.split('/').filter(Boolean).join('.');
    throw new AxonTokenError(`${at}: field ${[path, name].filter(Boolean).join('.') || field} of a ${type}: ${error.message.toLowerCase()}, found ${found(error.value)}`);
  }
  const sub = (name: string) => position(o[name], null, at, path ? `${path}.${name}` : name);
  switch (type) {
    case 'GlobalSequenceTrackingToken':
      return o.globalIndex as number;
    case 'GapAwareTrackingToken':
      return o.index as number;
    case 'ReplayToken':
      return sub('currentToken');
    default:
      return Math.min(sub('lowerSegmentToken'), sub('upperSegmentToken'));
  }
}

/** org.axonframework.eventhandling.ReplayToken, or Jackson's minimal class name .ReplayToken: ReplayToken. */
function simpleName(cls: string | null): string | undefined {
  return cls ? cls.slice(cls.lastIndexOf('.') + 1) : undefined;
}

function found(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function parseJson(text: string, at: string): Tree {
  try {
    return JSON.parse(text) as Tree;
  } catch (err) {
    throw new AxonTokenError(`${at}: not JSON: ${(err as Error).message}`);
  }
}

// ---- XML (XStream) ----

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** An element as a tree: leaves are their text (an integer as a number), repeated children an array. */
function xmlTree(e: XmlElement): Tree {
  if (!e.children.length) {
    const text = e.text.trim();
    return /^-?\d+$/.test(text) ? Number(text) : text;
  }
  const o: Record<string, unknown> = {};
  if (e.attrs.class) o['@class'] = e.attrs.class;
  for (const c of e.children) {
    const v = xmlTree(c);
    o[c.name] = c.name in o ? [...[o[c.name]].flat(), v] : v;
  }
  return o;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Enough XML for XStream's output: elements, attributes, text, entities; no DTDs or CDATA. */
function parseXml(text: string, at: string): XmlElement {
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
      if (top.name !== m[2]) throw new AxonTokenError(`${at}: not well-formed XML: </${m[2]}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of m[3].matchAll(/([\w.\-:]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]] = a[2];
    const el: XmlElement = { name: m[2], attrs, children: [], text: '' };
    top.children.push(el);
    if (!m[4]) stack.push(el);
  }
  if (stack.length !== 1 || root.children.length !== 1) throw new AxonTokenError(`${at}: not one well-formed XML element`);
  // XStream names the root element after the token's class
  const top = root.children[0];
  return { ...top, attrs: { class: top.name, ...top.attrs } };
}
