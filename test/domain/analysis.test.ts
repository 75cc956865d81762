import { Value } from '@sinclair/typebox/value';
import { AnalysisCheckInput, toAnalysisCheck, type AnalysisCheck, type Measurement } from '../../src/domain/analysis';
import { parseCondition } from '../../src/domain/analysisCondition';
import { assessAnalysis, ERROR_RETRY_MS, measurementPhase, nextMeasurementDelayMs, progressOf } from '../../src/domain/analysisEvaluator';

const check = (over: Partial<AnalysisCheckInput>): AnalysisCheck =>
  toAnalysisCheck({ name: 'error-rate', provider: 'prometheus', query: 'q', successCondition: 'result < 0.05', ...over });

/** What a provider answers per measurement: a value, no data, or an error. */
type Answer = number | 'no data' | 'error';

/** The activity's loop without the waiting: measure until the evaluator says done. */
function run(c: AnalysisCheck, answers: Answer[]) {
  const measurements: Measurement[] = [];
  for (;;) {
    const a = assessAnalysis(c, progressOf(measurements));
    if (a.done) return { phase: a.phase, taken: measurements.length, message: a.message };
    const answer = answers[measurements.length];
    if (answer === undefined) throw new Error(`run wanted measurement ${measurements.length + 1}, the table has ${answers.length}`);
    measurements.push(
      answer === 'error'
        ? { at: '', phase: 'Error', message: 'connection refused' }
        : { at: '', ...measurementPhase(c, answer === 'no data' ? undefined : answer), value: answer === 'no data' ? undefined : answer },
    );
  }
}

describe('analysis evaluator', () => {
  test.each<[string, Partial<AnalysisCheckInput>, Answer[], string, number]>([
    ['one good value succeeds', {}, [0.01], 'Successful', 1],
    ['one bad value fails at failureLimit 0', {}, [0.2], 'Failed', 1],
    ['no data is Inconclusive, never a success', {}, ['no data'], 'Inconclusive', 1],
    ['NaN (0/0 without traffic) is no data', {}, [NaN], 'Inconclusive', 1],
    ['neither condition matching is Inconclusive', { failureCondition: 'result > 0.1' }, [0.07], 'Inconclusive', 1],
    ['failureCondition alone: not matching is Successful', { successCondition: undefined, failureCondition: 'result > 0.1' }, [0.07], 'Successful', 1],
    ['successCondition alone: not matching is Failed', {}, [0.07], 'Failed', 1],
    ['count measurements at interval', { interval: '30s', count: 3 }, [0.01, 0.02, 0.03], 'Successful', 3],
    ['a failure within failureLimit is tolerated', { interval: '30s', count: 3, failureLimit: 1 }, [0.01, 0.2, 0.03], 'Successful', 3],
    ['stops early once failureLimit is passed', { interval: '30s', count: 5, failureLimit: 1 }, [0.2, 0.01, 0.3, 0.01, 0.01], 'Failed', 3],
    ['inconclusive within inconclusiveLimit is tolerated, and counts as a measurement', { interval: '30s', count: 3, inconclusiveLimit: 1 }, ['no data', 0.01, 0.01], 'Successful', 3],
    ['stops early once inconclusiveLimit is passed', { interval: '30s', count: 5, inconclusiveLimit: 1 }, ['no data', 0.01, 'no data'], 'Inconclusive', 3],
    ['provider errors are retried, not counted as measurements', { interval: '30s', count: 2 }, ['error', 0.01, 'error', 'error', 0.02], 'Successful', 5],
    ['errors do not count as failures', { interval: '30s', count: 2 }, ['error', 'error', 'error', 'error', 0.01, 0.01], 'Successful', 6],
    ['more consecutive errors than consecutiveErrorLimit (4) is Error', {}, ['error', 'error', 'error', 'error', 'error'], 'Error', 5],
    ['a success in between resets the run of errors', { interval: '30s', count: 3, consecutiveErrorLimit: 1 }, ['error', 0.01, 'error', 0.01, 'error', 0.01], 'Successful', 6],
    ['consecutiveErrorLimit 0: the first error ends it', { consecutiveErrorLimit: 0 }, ['error'], 'Error', 1],
    ['a failure wins over later errors', { interval: '1m', count: 3 }, [0.01, 0.9], 'Failed', 2],
    ['thresholdRange inside', { successCondition: undefined, thresholdRange: { max: 500 } }, [230], 'Successful', 1],
    ['thresholdRange outside', { successCondition: undefined, thresholdRange: { min: 0.99, max: 1 } }, [0.98], 'Failed', 1],
    ['thresholdRange with no data', { successCondition: undefined, thresholdRange: { min: 0.99 } }, ['no data'], 'Inconclusive', 1],
    ['no condition: any value succeeds, no data still does not', { successCondition: undefined }, ['no data'], 'Inconclusive', 1],
  ])('%s', (_name, over, answers, phase, taken) => {
    expect(run(check(over), answers)).toMatchObject({ phase, taken });
  });

  test('messages say what was measured and which limit was passed', () => {
    expect(run(check({}), [0.2]).message).toBe('error-rate: 1 Failed, more than failureLimit 0; last 0.2: not result < 0.05');
    expect(run(check({}), ['no data']).message).toBe('error-rate: 1 Inconclusive, more than inconclusiveLimit 0; last no data');
    expect(run(check({ consecutiveErrorLimit: 1 }), ['error', 'error']).message).toBe(
      'error-rate: analysis provider prometheus failed 2 times in a row, more than consecutiveErrorLimit 1; last: connection refused',
    );
    expect(run(check({ interval: '10s', count: 2, failureLimit: 1 }), [0.2, 0.01]).message).toBe('error-rate: 1 Successful, 1 Failed');
  });

  test('waits initialDelay first, then interval; errors without interval are retried after 10s', () => {
    const c = check({ interval: '30s', count: 3, initialDelay: '1m' });
    expect(nextMeasurementDelayMs(c, progressOf([]))).toBe(60_000);
    expect(nextMeasurementDelayMs(c, progressOf([{ at: '', phase: 'Successful' }]))).toBe(30_000);
    expect(nextMeasurementDelayMs(check({}), progressOf([{ at: '', phase: 'Error' }]))).toBe(ERROR_RETRY_MS);
  });
});

describe('conditions', () => {
  test.each<[string, number, boolean]>([
    ['result < 0.05', 0.01, true],
    ['result >= 0.99 && result <= 1', 0.995, true],
    ['result >= 0.99 && result <= 1', 1.2, false],
    ['result[0] > 2 * 3', 7, true],
    ['!(result == 1) || result > 5', 1, false],
    ['-result < -1', 2, true],
    ['(1 - result) / 2 >= 0.25', 0.5, true],
    ['result != 200', 200, false],
    ['result < 1e-3', 0.0001, true],
  ])('%s with result %d is %s', (text, result, expected) => expect(parseCondition(text)(result)).toBe(expected));

  test.each([
    ['result', 'is a number, not a condition'],
    ['result <', 'ends too early'],
    ['result < 1 1', "unexpected '1'"],
    ['process.exit(1)', "cannot read 'process.exit(1)'"],
    ['result && true', "'&&' needs comparisons on both sides"],
    ['(result < 1', "a '(' is not closed"],
    ['result < 1; x', "cannot read '; x'"],
  ])('%j is refused: %s', (text, reason) => expect(() => parseCondition(text)).toThrow(reason));
});

describe('checks as people write them', () => {
  test("Argo's defaults: failureLimit 0, inconclusiveLimit 0, consecutiveErrorLimit 4, one measurement, pause when inconclusive", () => {
    expect(check({})).toEqual({
      name: 'error-rate',
      provider: 'prometheus',
      query: 'q',
      successCondition: 'result < 0.05',
      count: 1,
      failureLimit: 0,
      inconclusiveLimit: 0,
      consecutiveErrorLimit: 4,
      onInconclusive: 'pause',
    });
    expect(check({ interval: '30s', count: 10, initialDelay: '1m' })).toMatchObject({ intervalMs: 30_000, count: 10, initialDelayMs: 60_000 });
  });

  test.each<[Partial<AnalysisCheckInput>, string, string]>([
    [{ query: undefined }, 'query', 'is required by provider prometheus'],
    [{ provider: 'http', query: undefined }, 'url', 'is required by provider http'],
    [{ successCondition: 'result <' }, 'successCondition', "'result <' ends too early"],
    [{ failureCondition: 'rm -rf' }, 'failureCondition', 'cannot read'],
    [{ thresholdRange: { max: 1 } }, 'thresholdRange', 'either thresholdRange or conditions'],
    [{ successCondition: undefined, thresholdRange: {} }, 'thresholdRange', 'needs min, max or both'],
    [{ successCondition: undefined, thresholdRange: { min: 2, max: 1 } }, 'thresholdRange', 'min 2 is above max 1'],
    [{ interval: '30s' }, 'count', 'is required with interval'],
    [{ count: 3 }, 'interval', 'is required when count is 3'],
    [{ interval: '0s', count: 2 }, 'interval', 'longer than 0s'],
  ])('%j is refused on %s', (over, field, reason) => {
    expect(() => check(over)).toThrow(expect.objectContaining({ field, message: expect.stringContaining(reason) }));
  });

  test('the schema refuses unknown fields and bad durations, and documents every field', () => {
    expect(Value.Check(AnalysisCheckInput, { name: 'x', provider: 'prometheus', query: 'up', interval: '30 s' })).toBe(false);
    expect(Value.Check(AnalysisCheckInput, { name: 'x', provider: 'prometheus', query: 'up', threshold: 1 })).toBe(false);
    expect(Value.Check(AnalysisCheckInput, { name: 'x', provider: 'prometheus', query: 'up', interval: '30s', count: 3 })).toBe(true);
    for (const [field, schema] of Object.entries(AnalysisCheckInput.properties)) expect([field, (schema as { description?: string }).description]).toEqual([field, expect.any(String)]);
  });
});
