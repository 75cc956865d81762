/** Axon tracking tokens as XStream and Jackson write them, for the catch-up tests. */
const PKG = 'org.axonframework.eventhandling';
export type Format = 'xml' | 'json';
export type Shape = 'globalSequence' | 'gapAware' | 'replay' | 'replayNotStarted' | 'merged' | 'multiSource';

export const TOKEN_TYPES: Record<Shape, string> = {
  globalSequence: `${PKG}.GlobalSequenceTrackingToken`,
  gapAware: `${PKG}.GapAwareTrackingToken`,
  replay: `${PKG}.ReplayToken`,
  replayNotStarted: `${PKG}.ReplayToken`,
  merged: `${PKG}.MergedTrackingToken`,
  multiSource: `${PKG}.MultiSourceTrackingToken`,
};

const xmlGlobal = (tag: string, n: number, cls = '') => `<${tag}${cls}><globalIndex>${n}</globalIndex></${tag}>`;
// XStream writes GapAwareTrackingToken's ConcurrentSkipListSet of gaps with custom serialization
const xmlGapAware = (tag: string, n: number, cls = '') =>
  `<${tag}${cls}><index>${n}</index><gaps class="java.util.concurrent.ConcurrentSkipListSet" serialization="custom"><unserializable-parents/>` +
  `<java.util.concurrent.ConcurrentSkipListSet><default><m class="java.util.concurrent.ConcurrentSkipListMap" serialization="custom"><unserializable-parents/>` +
  `<java.util.concurrent.ConcurrentSkipListMap><default/><long>${n - 5}</long><boolean>true</boolean><null/></java.util.concurrent.ConcurrentSkipListMap></m></default>` +
  `</java.util.concurrent.ConcurrentSkipListSet></gaps></${tag}>`;
const cls = (shape: Shape) => ` class="${TOKEN_TYPES[shape]}"`;

/** A token of this shape whose position is n (merged and multi-source: their slowest part is n). */
export function token(shape: Shape, format: Format, n: number): string {
  const type = TOKEN_TYPES[shape];
  if (format === 'xml') {
    switch (shape) {
      case 'globalSequence':
        return `<?xml version="1.0" encoding="UTF-8"?>${xmlGlobal(type, n)}`;
      case 'gapAware':
        return xmlGapAware(type, n);
      case 'replay':
        return `<${type}>${xmlGapAware('tokenAtReset', n + 300, cls('gapAware'))}${xmlGlobal('currentToken', n, cls('globalSequence'))}</${type}>`;
      case 'replayNotStarted': // XStream leaves a null currentToken out
        return `<${type}>${xmlGapAware('tokenAtReset', n + 300, cls('gapAware'))}</${type}>`;
      case 'merged':
        return `<${type}>${xmlGlobal('lowerSegmentToken', n, cls('globalSequence'))}${xmlGapAware('upperSegmentToken', n + 150, cls('gapAware'))}</${type}>`;
      case 'multiSource':
        return (
          `<${type}><trackingTokens class="java.util.HashMap"><entry><string>orders</string>${xmlGlobal(TOKEN_TYPES.globalSequence, n + 350)}</entry>` +
          `<entry><string>audit</string>${xmlGapAware(TOKEN_TYPES.gapAware, n)}</entry></trackingTokens></${type}>`
        );
    }
  }
  const global = (i: number) => ({ '@class': TOKEN_TYPES.globalSequence, globalIndex: i });
  const gapAware = (i: number) => ({ '@class': TOKEN_TYPES.gapAware, index: i, gaps: [i - 5] });
  const json: Record<Shape, unknown> = {
    globalSequence: { globalIndex: n },
    gapAware: { index: n, gaps: [n - 5, n - 2] },
    replay: { tokenAtReset: gapAware(n + 300), currentToken: global(n), resetContext: null },
    replayNotStarted: { tokenAtReset: gapAware(n + 300), currentToken: null, resetContext: null },
    merged: { lowerSegmentToken: global(n), upperSegmentToken: gapAware(n + 150) },
    multiSource: { trackingTokens: { orders: global(n + 350), audit: gapAware(n) } },
  };
  return JSON.stringify(json[shape]);
}

export const CONFIG_TOKEN = {
  type: 'org.axonframework.eventhandling.tokenstore.ConfigToken',
  xml: '<org.axonframework.eventhandling.tokenstore.ConfigToken><config><entry><string>id</string><string>7f0c</string></entry></config></org.axonframework.eventhandling.tokenstore.ConfigToken>',
};
