/** The preview's skeleton part from an input and what plan found: gates and their rules, undos up to the point of no return, the capacity's window. */
import { toAnalysisCheck } from '../../src/domain/analysis';
import { previewOf, type PlanFound } from '../../src/domain/preview';
import type { UpgradePolicy } from '../../src/domain/policy';
import { completeInput } from '../../src/domain/upgradeSettings';
import type { Step, UpgradeInput } from '../../src/domain/upgrade';

const check = toAnalysisCheck({ name: 'errors', provider: 'prometheus', query: 'rate(e[1m])', interval: '10s', count: 3, successCondition: 'result < 0.01' });

const policy: UpgradePolicy = {
  options: {},
  standbyWindow: { min: '0s', max: '30d' },
  maxDuration: '30d',
  images: [],
  httpHosts: [],
  approvals: {
    promote: { roles: ['approver'], requireDistinctApprover: false },
    trafficStep: { roles: ['approver', 'sre'], requireDistinctApprover: false },
    finalize: { roles: ['release-manager'], requireDistinctApprover: true },
  },
};

const input = (options: object, settings: object = {}): UpgradeInput =>
  completeInput({ kind: 'emqx', target: 'orders', version: '5.8.0', requestedBy: 'alice', policy, options, settings: { emqx: settings } } as never);

const ALL: Step[] = ['prepare', 'deployGreen', 'waitReady', 'verify', 'promote', 'drainBlue', 'finalize', 'cleanUpBlue'];
const found: PlanFound = {
  blue: { name: 'orders-5-7-0', version: '5.7.0', replicas: 3 },
  green: { name: 'orders-5-8-0', version: '5.8.0' },
  handled: ALL,
  undone: ['prepare', 'deployGreen', 'drainBlue', 'finalize'],
  planned: { note: 'EMQX 5.7.0 (Enterprise); drain by evacuation', drain: 'evacuation', staticCores: false },
};

test('every gate with the rule of its place: before promote, at a traffic step, where an analysis may be inconclusive, before finalize', () => {
  const p = previewOf(
    input({
      approval: 'manual',
      approveBefore: ['promote', 'finalize'],
      gates: { promote: { autoPromoteAfterMs: 600_000, timeoutMs: 3_600_000 } },
      traffic: [{ weight: 20, pauseMs: 60_000, analysis: [check], approve: true }, { weight: 100, analysis: [] }],
      verifyAnalysis: [{ ...check, onInconclusive: 'fail' }],
    }),
    found,
  );
  expect(p.gates).toEqual([
    { step: 'gate', before: 'promote', roles: ['approver'], requireDistinctApprover: false, autoPromoteAfterMs: 600_000, timeoutMs: 3_600_000 },
    { step: 'promote', before: 'continuing past the inconclusive analysis errors', roles: ['approver', 'sre'], requireDistinctApprover: false, when: 'analysis errors is inconclusive at traffic step 1 (20%)' },
    { step: 'promote', before: 'the next traffic step after traffic step 1 (20%)', roles: ['approver', 'sre'], requireDistinctApprover: false },
    { step: 'finalize', before: 'finalize', roles: ['release-manager'], requireDistinctApprover: true },
  ]);
  expect(p.steps.find((s) => s.step === 'gate')!.does).toBe('wait for an approval before promote (role approver), approved by itself after 10m, rolled back without one after 1h');
  expect(p.steps.find((s) => s.step === 'finalize')!.does).toMatch(/^wait for an approval before finalize \(role release-manager, not who started it\); the point of no return/);
  // one check, run at verify (failing when inconclusive) and at the traffic step (pausing): listed once, with both places
  expect(p.traffic.checks).toEqual([expect.objectContaining({ name: 'errors', measuringMs: 30_000, where: ['verify', 'traffic step 1 (20%)'] })]);
});

test('rollback undoes, last first, only what comes before the point of no return', () => {
  const p = previewOf(input({}), found);
  expect(p.compensations.map((c) => c.step)).toEqual(['drainBlue', 'promote', 'deployGreen', 'prepare']);
  // prepare has no EMQX text of its own, yet an undo: said plainly
  expect(p.compensations.at(-1)).toEqual({ step: 'prepare', undo: 'undo what prepare did' });
  expect(p.steps.find((s) => s.step === 'finalize')!.undo).toBeUndefined();
});

test("the capacity's window: both releases from deployGreen to cleanUpBlue, at least the timers the settings give", () => {
  const settings = { initialDelayMs: 5000, waitHealthCheckMs: 2000, waitTakeoverMs: 4000 };
  const timers = { standbyWindowMs: 60_000, traffic: [{ weight: 50, pauseMs: 30_000, analysis: [check] }, { weight: 100, analysis: [] }], verifyAnalysis: [check] };
  const p = previewOf(input(timers, settings), found);
  // drain 5s + 3 × (2s + 2 × 4s); traffic 30s + 30s of measuring; verify 30s; standby 1m
  expect(p.capacity).toEqual({
    blueReplicas: 3,
    greenReplicas: 3,
    replicasAtOnce: 6,
    from: 'deployGreen',
    until: 'cleanUpBlue',
    atLeastMs: 5000 + 3 * (2000 + 8000) + 60_000 + 30_000 + 60_000,
    plus: [
      "waitReady: orders-5-8-0's 3 pods to start and join the cluster",
      'verify: a person\'s approval wherever an analysis is inconclusive (1 place, under gates)',
      "gate: a person's approval before promote (role approver)",
      "promote: a person's approval wherever an analysis is inconclusive (1 place, under gates)",
      'drainBlue: each blue node\'s clients to be evicted at 1000 connections/s and 1000 sessions/s',
    ],
  });
});
