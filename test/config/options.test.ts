/** Upgrade options as people write them, turned into the workflow's: traffic plans, gates, limits. */
import { OptionsError, toUpgradeOptions, type UpgradeOptionsInput } from '../../src/config/options';

const extra = { requireDistinctApprover: false };
const errorRate = { name: 'error-rate', provider: 'prometheus', query: 'sum(rate(errors{release="{{green}}"}[1m]))', successCondition: 'result < 0.05' };

function refusal(layers: UpgradeOptionsInput[], checks: UpgradeOptionsInput['analysis'] = []): { field: string; message: string } {
  try {
    toUpgradeOptions(layers, { ...extra, checks });
  } catch (err) {
    if (err instanceof OptionsError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

test('defaults: all at once, a gate before promote, 1h to roll back, no ready report', () => {
  expect(toUpgradeOptions([{}], extra)).toMatchObject({
    traffic: 'all-at-once',
    approveBefore: ['promote'],
    gates: {},
    rollbackTimeoutMs: 3_600_000,
    waitForReadyReport: false,
  });
  expect(toUpgradeOptions([{ approval: 'auto' }], extra).approveBefore).toEqual([]);
});

test('a traffic plan names checks from the config file or the request; the request wins', () => {
  const o = toUpgradeOptions(
    [
      {
        traffic: [{ weight: 10, pause: '2m', analysis: ['error-rate'] }, { weight: 50, approve: true }, { weight: 100 }],
        analysis: [{ ...errorRate, successCondition: 'result < 0.01' }],
      },
    ],
    { ...extra, checks: [errorRate] },
  );
  expect(o.traffic).toEqual([
    { weight: 10, pauseMs: 120_000, analysis: [expect.objectContaining({ name: 'error-rate', successCondition: 'result < 0.01', consecutiveErrorLimit: 4 })] },
    { weight: 50, analysis: [], approve: true },
    { weight: 100, analysis: [] },
  ]);
});

test.each([
  [{ traffic: [{ weight: 10 }, { weight: 50 }] }, 'traffic', 'the last step must send all traffic to green (weight 100), not 50'],
  [{ traffic: [{ weight: 50 }, { weight: 10 }, { weight: 100 }] }, 'traffic', 'step 2: weights must rise (50 then 10)'],
  [{ traffic: [{ weight: 100, analysis: ['latency'] }] }, 'traffic[0].analysis[0]', "names no analysis check 'latency' (known: error-rate)"],
  [{ stepTimeouts: { standBy: '5m' }, standbyWindow: '10m' }, 'stepTimeouts.standBy', 'is not longer than standbyWindow (10m): the standby step lasts its whole window'],
  [{ stepTimeouts: { standBy: '10m' }, standbyWindow: '10m' }, 'stepTimeouts.standBy', 'is not longer than standbyWindow (10m): the standby step lasts its whole window'],
  [{ rollbackTimeout: '0s' }, 'rollbackTimeout', 'must be longer than 0s'],
  [
    { approveBefore: ['finalize'], gates: { finalize: { autoPromoteAfter: '3h', timeout: '1h' } } },
    'gates.finalize.autoPromoteAfter',
    "3h is not shorter than the gate's time limit (gates.finalize.timeout 1h): the time limit rolls back first, so it could never fire",
  ],
  [
    { autoPromoteAfter: '2h', stepTimeouts: { gate: '2h' } },
    'autoPromoteAfter',
    "2h is not shorter than the gate's time limit (stepTimeouts.gate 2h): the time limit rolls back first, so it could never fire",
  ],
] as [UpgradeOptionsInput, string, string][])('refused: %j', (options, field, message) => {
  expect(refusal([options], [errorRate])).toEqual({ field, message });
});

test("gates: approveBefore and each gate's delay and limit; today's autoPromoteAfter and stepTimeouts.gate stay the gate before promote's", () => {
  expect(
    toUpgradeOptions([{ approveBefore: ['promote', 'finalize'], autoPromoteAfter: '1h', gates: { finalize: { timeout: '2h' } } }], extra),
  ).toMatchObject({ approveBefore: ['promote', 'finalize'], gates: { promote: { autoPromoteAfterMs: 3_600_000 }, finalize: { timeoutMs: 7_200_000 } } });
  expect(toUpgradeOptions([{ stepTimeouts: { gate: '8h' } }], extra).gates).toEqual({ promote: { timeoutMs: 28_800_000 } });
  // both: the auto-promotion comes first (the time limit is refused when it would come first)
  expect(toUpgradeOptions([{ gates: { promote: { autoPromoteAfter: '1h', timeout: '3h' } } }], extra).gates).toEqual({ promote: { autoPromoteAfterMs: 3_600_000, timeoutMs: 10_800_000 } });
  // layers merge gate by gate
  expect(toUpgradeOptions([{ gates: { promote: { timeout: '1h' } } }, { gates: { finalize: { timeout: '2h' } } }], extra).gates).toEqual({
    promote: { timeoutMs: 3_600_000 },
    finalize: { timeoutMs: 7_200_000 },
  });
});
