import { MAX_READY_REPORTS, decideAbort, decideApprove, decideReadyReport, decideRollback } from '../../src/domain/decisions';
import { parseDuration, formatDuration } from '../../src/domain/duration';
import { legacyReleaseName, parseUpgradeId, releaseName, upgradeIdOf, type UpgradeState } from '../../src/domain/upgrade';

const state = (over: Partial<UpgradeState>): UpgradeState =>
  ({ status: 'RUNNING', step: 'verify', requestedBy: 'alice', pointOfNoReturnPassed: false, ...over }) as UpgradeState;

describe('steering decisions', () => {
  const anyone = { roles: [], requireDistinctApprover: false };
  const fourEyes = { roles: ['approver'], requireDistinctApprover: true };
  const waiting = state({ status: 'AWAITING_APPROVAL', step: 'finalize', approval: { mode: 'manual', gate: 'finalize' } });

  test('approve only while awaiting approval', () => {
    expect(decideApprove(state({}), { by: 'bob' }, anyone)).toEqual({ ok: false, reason: 'nothing is waiting for approval: the upgrade is RUNNING at step verify' });
    expect(decideApprove(waiting, { by: 'alice' }, anyone)).toEqual({ ok: true });
  });

  test("a gate's rule: one of its roles, and with four-eyes never the requester (403)", () => {
    expect(decideApprove(waiting, { by: 'bob', roles: ['approver'] }, fourEyes)).toEqual({ ok: true });
    expect(decideApprove(waiting, { by: 'alice', roles: ['approver'] }, fourEyes)).toEqual({
      ok: false,
      refusal: 'forbidden',
      reason: 'alice requested this upgrade and cannot also approve it: the finalize gate requires a distinct approver',
    });
    expect(decideApprove(waiting, { by: 'bob', roles: ['operator'] }, fourEyes)).toEqual({
      ok: false,
      refusal: 'forbidden',
      reason: 'approving at the finalize gate needs the role approver; bob has operator',
    });
    // a signal from the Temporal CLI carries no roles
    expect(decideApprove(waiting, { by: 'bob' }, { roles: ['release-manager', 'approver'], requireDistinctApprover: false })).toMatchObject({
      refusal: 'forbidden',
      reason: 'approving at the finalize gate needs the role release-manager or approver; bob has no role the workflow knows of',
    });
  });

  test('rollback until the point of no return; abort until the end', () => {
    expect(decideRollback(state({}))).toEqual({ ok: true });
    expect(decideRollback(state({ pointOfNoReturnPassed: true }))).toMatchObject({ ok: false, reason: expect.stringContaining('point of no return') });
    expect(decideRollback(state({ status: 'ROLLING_BACK' }))).toMatchObject({ ok: false });
    expect(decideAbort(state({ pointOfNoReturnPassed: true }))).toEqual({ ok: true });
    for (const status of ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'] as const) {
      expect(decideRollback(state({ status }))).toMatchObject({ ok: false, reason: `the upgrade has already ended: ${status}` });
      expect(decideAbort(state({ status }))).toMatchObject({ ok: false });
    }
  });
});

describe('ready reports: green only, while INITIALISING (else 409 with the reason)', () => {
  const release = (name: string, phase: string) => ({ name, phase }) as NonNullable<UpgradeState['releases']['green']>;
  const during = (greenPhase: string | null, over: Partial<UpgradeState> = {}) =>
    state({ step: 'waitReady', releases: { blue: release('svc-1-0-0', 'SERVING'), green: greenPhase ? release('svc-2-0-0', greenPhase) : null }, ...over });

  test.each([
    ['green while INITIALISING', during('INITIALISING'), 'svc-2-0-0', { ok: true }],
    ['green while SERVING, the upgrade still running', during('SERVING', { step: 'promote' }), 'svc-2-0-0', { ok: false, reason: 'svc-2-0-0 is SERVING: ready reports are taken only while it is INITIALISING' }],
    ['green while CLEANING_UP in a rollback', during('CLEANING_UP', { status: 'ROLLING_BACK' }), 'svc-2-0-0', { ok: false, reason: 'svc-2-0-0 is CLEANING_UP: ready reports are taken only while it is INITIALISING' }],
    ['green while SCHEDULED', during('SCHEDULED', { step: 'deployGreen' }), 'svc-2-0-0', { ok: false, reason: 'svc-2-0-0 is SCHEDULED: ready reports are taken only while it is INITIALISING' }],
    ['blue', during('INITIALISING'), 'svc-1-0-0', { ok: false, reason: 'only the green release svc-2-0-0 of the running upgrade reports ready (svc-1-0-0 is blue, the release being replaced)' }],
    ['a release of no upgrade', during('INITIALISING'), 'svc-9-9-9', { ok: false, reason: 'only the green release svc-2-0-0 of the running upgrade reports ready' }],
    ['before green exists', during(null, { step: 'plan' }), 'svc-2-0-0', { ok: false, reason: 'only the green release of the running upgrade reports ready' }],
    ['after the upgrade ended', during('OBSOLETE', { status: 'ROLLED_BACK' }), 'svc-2-0-0', { ok: false, reason: 'the upgrade has already ended: ROLLED_BACK' }],
  ] as const)('%s', (_name, s, name, decision) => {
    expect(decideReadyReport(s, { release: name, ready: true })).toEqual(decision);
  });

  test('a repeat of the latest report records nothing; a release sends MAX_READY_REPORTS at most, then only the one that says ready', () => {
    const reported = (ready: boolean, reports: number, detail?: string) => during('INITIALISING', { readyReport: { ready, detail, by: 'svc', at: 'then', reports } });
    const report = (ready: boolean, detail?: string) => ({ release: 'svc-2-0-0', ready, detail });
    expect(decideReadyReport(reported(false, 1, 'catching up'), report(false, 'catching up'))).toEqual({
      ok: false,
      refusal: 'unchanged',
      reason: 'svc-2-0-0 already reported not ready with this detail at then',
    });
    expect(decideReadyReport(reported(false, 1, 'catching up'), report(false, 'caught up 50%'))).toEqual({ ok: true });
    expect(decideReadyReport(reported(false, MAX_READY_REPORTS, 'a'), report(false, 'b'))).toMatchObject({ ok: false, refusal: 'tooMany' });
    expect(decideReadyReport(reported(false, MAX_READY_REPORTS, 'a'), report(true))).toEqual({ ok: true });
    expect(decideReadyReport(reported(true, MAX_READY_REPORTS + 1), report(false))).toMatchObject({ ok: false, refusal: 'tooMany' });
  });
});

describe('durations', () => {
  test.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['24h', 86_400_000],
    ['250ms', 250],
    ['1d', 86_400_000],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each(['-5s', '5', 's', '1.5h', '10 m', ''])('%j is refused with a hint', (text) => {
    expect(() => parseDuration(text)).toThrow('write it like 90s, 10m, 1h30m or 24h');
  });

  test('digits past what a number holds are refused, never Infinity', () => {
    expect(() => parseDuration(`${'9'.repeat(400)}ms`)).toThrow('a duration is at most 32 characters long');
    expect(() => parseDuration(`${'9'.repeat(30)}d`)).toThrow('too long a duration: at most 30d');
  });

  test('formats back', () => {
    expect([formatDuration(86_400_000), formatDuration(90_000), formatDuration(1500)]).toEqual(['24h', '90s', '1500ms']);
  });
});

describe('names and ids', () => {
  test('release names are DNS labels; runs from before release-ownership keep theirs', () => {
    expect(releaseName('orders-mqtt', '5.8.0')).toBe('orders-mqtt-5-8-0-0b5d1e971a');
    expect(releaseName('kong', 'v3.9.1-ubuntu')).toBe('kong-v3-9-1-ubuntu-0484a8ec15');
    expect(legacyReleaseName('orders-mqtt', '5.8.0')).toBe('orders-mqtt-5-8-0');
    expect(legacyReleaseName('a'.repeat(60), '1.0.0')).toMatch(/^[a-z0-9-]{1,63}$/);
    expect(legacyReleaseName('a'.repeat(60), '1.0.0')).not.toMatch(/-$/);
  });

  test('upgrade ids round-trip and reject garbage', () => {
    const runId = '01a20779-7189-7723-9268-591211f9d682';
    expect(parseUpgradeId(upgradeIdOf('orders-mqtt', runId))).toEqual({ target: 'orders-mqtt', runId });
    expect(parseUpgradeId('orders-mqtt')).toBeUndefined();
    expect(parseUpgradeId('../etc.passwd')).toBeUndefined();
  });
});
