import { decideAbort, decideApprove, decideReadyReport, decideRollback } from '../../src/domain/decisions';
import { parseDuration, formatDuration } from '../../src/domain/duration';
import { legacyReleaseName, parseUpgradeId, releaseName, upgradeIdOf, type UpgradeState } from '../../src/domain/upgrade';

const state = (over: Partial<UpgradeState>): UpgradeState =>
  ({ status: 'RUNNING', step: 'verify', requestedBy: 'alice', pointOfNoReturnPassed: false, ...over }) as UpgradeState;

describe('steering decisions', () => {
  test('approve only while awaiting approval, and not by the requester when distinct approvers are required', () => {
    expect(decideApprove(state({}), 'bob', false)).toEqual({ ok: false, reason: 'nothing is waiting for approval: the upgrade is RUNNING at step verify' });
    expect(decideApprove(state({ status: 'AWAITING_APPROVAL' }), 'bob', true)).toEqual({ ok: true });
    expect(decideApprove(state({ status: 'AWAITING_APPROVAL' }), 'alice', true)).toMatchObject({ ok: false, reason: expect.stringContaining('cannot also approve') });
    expect(decideApprove(state({ status: 'AWAITING_APPROVAL' }), 'alice', false)).toEqual({ ok: true });
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
    expect(decideReadyReport(s, name)).toEqual(decision);
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
