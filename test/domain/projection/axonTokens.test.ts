/**
 * Every token a real Axon 4.13 application stored (test/fixtures/contracts/axon/4.13/<case>/axon.json, both
 * serializers) reduces to the position Axon reported for its segment; a token Axon would not write, or one the
 * preset cannot compare with the head, fails naming the field and what was found.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AxonTokenError, axonTokenPosition, CONFIG_TOKEN_TYPE } from '../../../src/domain/projection/axonTokens';

const DIR = join(__dirname, '../../fixtures/contracts/axon/4.13');

interface Recorded {
  case: string;
  processors: { name: string; segments: { segment: number; position: number }[] }[];
  tokenRows: { processorName: string; segment: number; tokenType: string | null; token: string | null }[];
}

const rows = readdirSync(DIR).flatMap((name) => {
  const r = JSON.parse(readFileSync(join(DIR, name, 'axon.json'), 'utf8')) as Recorded;
  return r.tokenRows.map((row) => {
    const reported = r.processors.find((p) => p.name === row.processorName)?.segments.find((s) => s.segment === row.segment)?.position;
    return [`${r.case} ${row.processorName}[${row.segment}] ${row.tokenType?.split('.').pop() ?? 'null'}`, row, reported] as const;
  });
});

test.each(rows)('%s: the position Axon reported', (_, row, reported) => {
  const position = axonTokenPosition(row.token, row.tokenType, `${row.processorName} ${row.segment}`);
  if (row.tokenType === CONFIG_TOKEN_TYPE) expect(position).toBeUndefined();
  else expect(position).toBe(reported);
});

const where = 'processor p segment 0';
const GAP_AWARE = 'org.axonframework.eventhandling.GapAwareTrackingToken';

// Neither the JDBC nor the JPA event store writes these (they write GapAwareTrackingTokens): the shapes follow
// GlobalSequenceTrackingToken.java and MultiSourceTrackingToken.java at axon-4.13.0 (Jackson's @JsonProperty names).
test('a GlobalSequenceTrackingToken (Axon Server, the legacy stores) counts by its globalIndex', () => {
  expect(axonTokenPosition('{"globalIndex":42}', 'org.axonframework.eventhandling.GlobalSequenceTrackingToken', where)).toBe(42);
  expect(axonTokenPosition('<org.axonframework.eventhandling.GlobalSequenceTrackingToken><globalIndex>42</globalIndex></org.axonframework.eventhandling.GlobalSequenceTrackingToken>', null, where)).toBe(42);
});

test('a MultiSourceTrackingToken is refused: Axon reports the sum of its sources, which no one event table is the head of', () => {
  const multi = '{"trackingTokens":{"a":{"@class":"org.axonframework.eventhandling.GapAwareTrackingToken","index":5,"gaps":[]}}}';
  expect(() => axonTokenPosition(multi, 'org.axonframework.eventhandling.MultiSourceTrackingToken', where)).toThrow(
    'Axon Framework 4 token of processor p segment 0 (org.axonframework.eventhandling.MultiSourceTrackingToken): field token is a MultiSourceTrackingToken',
  );
});

test('a token of another serializer, or of another shape, says what it found', () => {
  expect(() => axonTokenPosition(Buffer.from([0xac, 0xed]), GAP_AWARE, where)).toThrow(AxonTokenError);
  expect(() => axonTokenPosition(Buffer.from([0xac, 0xed, 0x00, 0x05]), GAP_AWARE, where)).toThrow(/found Java serialization: the axon preset reads tokens of Axon's XStream or Jackson serializer/);
  expect(() => axonTokenPosition(Buffer.from([0xa2, 0x65]), GAP_AWARE, where)).toThrow(/found bytes starting 0xa265/);
  expect(() => axonTokenPosition('{"index":"x","gaps":[]}', GAP_AWARE, where)).toThrow(
    'Axon Framework 4 token of processor p segment 0 (org.axonframework.eventhandling.GapAwareTrackingToken): field index of a GapAwareTrackingToken: expected integer, found "x"',
  );
  expect(() => axonTokenPosition('{"tokenAtReset":{"@class":"x.Custom","n":1},"currentToken":{"@c":".Custom","n":1}}', 'org.axonframework.eventhandling.ReplayToken', where)).toThrow(
    /field currentToken: expected one of GlobalSequenceTrackingToken, GapAwareTrackingToken, ReplayToken, MergedTrackingToken, found a Custom/,
  );
  expect(() => axonTokenPosition('<a><index>1</index>', GAP_AWARE, where)).toThrow(/not one well-formed XML element/);
});
