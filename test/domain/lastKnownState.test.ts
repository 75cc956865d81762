/** What a workflow publishes in its memo for the API to show when the state query cannot run: where it is, small whatever it did. */
import { lastKnownState } from '../../src/domain/lastKnownState';
import type { UpgradeState } from '../../src/domain/upgrade';

const at = '2026-12-01T10:00:00.000Z';
const long = 'x'.repeat(5000);
const state: UpgradeState = {
  upgradeId: 'orders.0b6f0000-0000-4000-8000-000000000001',
  kind: 'emqx',
  target: 'orders',
  version: '5.8.0',
  requestedBy: 'alice',
  startedAt: at,
  status: 'ROLLING_BACK',
  step: 'promote',
  waitingFor: long,
  releases: { blue: { name: 'orders', version: '5.7.0', role: 'blue', phase: 'SERVING', since: at }, green: { name: 'orders-5-8-0', version: '5.8.0', role: 'green', phase: 'CLEANING_UP', since: at } },
  traffic: { blue: 90, green: 10 },
  approval: { mode: 'manual', approvedBy: 'bob', approvedAt: at },
  trafficSteps: Array.from({ length: 100 }, (_, i) => ({ weight: i + 1, analysis: [] })),
  analysis: Array.from({ length: 20 }, () => ({ name: 'error-rate', phase: 'Successful', measurements: Array(1000).fill({ value: 0.01, phase: 'Successful', at }) })) as never,
  readyReport: { ready: true, detail: long, by: 'svc', at },
  pointOfNoReturnPassed: false,
  compensations: [{ step: 'prepare', state: 'done' }, { step: 'deployGreen', state: 'running' }, { step: 'promote', what: 'traffic on blue', state: 'done' }],
  failure: { step: 'promote', message: long, type: 'AnalysisFailed' },
  transitions: Array.from({ length: 7000 }, () => ({ at, what: 'signal' as const, by: 'svc', why: 'reports ready' })),
  details: { nodeEvacuationsStatus: Array(50).fill({ node: 'emqx@x', state: 'evicting_conns' }) },
};

test('the memo keeps where the upgrade is and drops what grows with it, so it stays small', () => {
  const memo = lastKnownState(state);
  expect(memo).toMatchObject({ status: 'ROLLING_BACK', step: 'promote', traffic: { blue: 90, green: 10 }, releases: state.releases, approval: state.approval, compensations: state.compensations });
  expect(memo).toMatchObject({ transitions: [], details: {} });
  expect(memo.analysis).toBeUndefined();
  expect(memo.trafficSteps).toBeUndefined();
  expect(memo.waitingFor).toHaveLength(300);
  expect(memo.failure).toEqual({ step: 'promote', message: expect.stringMatching(/^x{299}…$/), type: 'AnalysisFailed' });
  expect(memo.readyReport?.detail).toHaveLength(300);
  // under the 2 KB at which Temporal warns about a memo
  expect(JSON.stringify(memo).length).toBeLessThan(2048);
});
