/** Axon tokens in every shape and both serialisations reduce to the position catch-up compares with the head. */
import { axonTokenPosition, CONFIG_TOKEN_TYPE, NO_POSITION, TokenFormatError } from '../../src/domain/projection/axonTokens';
import { CONFIG_TOKEN, TOKEN_TYPES, token, type Format, type Shape } from '../projection/axonTokenShapes';

const shapes: Shape[] = ['globalSequence', 'gapAware', 'replay', 'merged', 'multiSource'];
const formats: Format[] = ['xml', 'json'];

test.each(shapes.flatMap((s) => formats.map((f) => [s, f] as const)))('%s as %s: its position (the slowest part of merged and multi-source)', (shape, format) => {
  expect(axonTokenPosition(Buffer.from(token(shape, format, 4242)), TOKEN_TYPES[shape])).toBe(4242);
});

test.each(formats)('a replay that has not handled an event yet (%s) has no position, whatever it reset from', (format) => {
  expect(axonTokenPosition(Buffer.from(token('replayNotStarted', format, 10)), TOKEN_TYPES.replay)).toBe(NO_POSITION);
});

test('a segment without a token has no position; the __config row is not a segment', () => {
  expect(axonTokenPosition(null, null)).toBe(NO_POSITION);
  expect(axonTokenPosition(Buffer.from(CONFIG_TOKEN.xml), CONFIG_TOKEN_TYPE)).toBeUndefined();
});

test('a token that is neither, or has no position, says what it saw', () => {
  expect(() => axonTokenPosition(Buffer.from('\u00ac\u00ed serialized java'), 'x.Token')).toThrow(TokenFormatError);
  expect(() => axonTokenPosition('{"segment":3}', 'x.Token')).toThrow(/fields segment/);
  expect(() => axonTokenPosition('<a><b>1</b></a>', 'x.Token')).toThrow(/elements b/);
  expect(() => axonTokenPosition('<a><index>1</index>', 'x.Token')).toThrow(/well-formed/);
});
