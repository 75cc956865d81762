/**
 * Analysis in the traffic plan and verify, with the real runAnalysis activity
 * against a stand-in of Prometheus's query API: Failed rolls back by itself
 * with the measurements in the state, no data pauses for a person, a
 * Prometheus that stops answering rolls back as an analysis provider failure.
 */
import { builtInProviders, createAnalysisActivities } from '../../src/activities/analysis';
import { toAnalysisCheck, type AnalysisCheckInput } from '../../src/domain/analysis';
import { releaseName, type TrafficStep, type UpgradeInput } from '../../src/domain/upgrade';
import { approveUpdate, rollbackUpdate } from '../../src/workflows/messages';
import { startPrometheusStandIn, type PrometheusStandIn } from '../support/prometheusStandIn';
import { scriptedSuite } from '../support/scriptedSuite';
import { reachesStatus, upgradeInput, upgradeResult, upgradeState } from '../support/temporal';
import { signedUpdate } from '../support/steering';

let prometheus: PrometheusStandIn;
const suite = scriptedSuite('analysis', async () => {
  prometheus = await startPrometheusStandIn();
  const activities = createAnalysisActivities({ providers: builtInProviders({ prometheusUrl: prometheus.url }), heartbeatEveryMs: 200 });
  return { activities, close: () => prometheus.close() };
});
const { world, start } = suite;

/** An error-rate check on green; the query names the test so each test sets its own value. */
function errorRate(over: Partial<AnalysisCheckInput> = {}) {
  return toAnalysisCheck({
    name: 'error-rate',
    provider: 'prometheus',
    query: `errors{target="{{target}}",release="{{green}}"}`,
    successCondition: 'result < 0.05',
    ...over,
  });
}
const query = (input: UpgradeInput) => `errors{target="${input.target}",release="${releaseName(input.target, '2.0.0')}"}`;
const plan = (over: Partial<AnalysisCheckInput> = {}): TrafficStep[] => [
  { weight: 10, analysis: [errorRate(over)] },
  { weight: 50, analysis: [] },
  { weight: 100, analysis: [] },
];
const withPlan = (over: Partial<AnalysisCheckInput> = {}) => {
  const input = upgradeInput();
  input.options.traffic = plan(over);
  return input;
};

test('a passing analysis lets the plan go on to SUCCEEDED, its result in the step', async () => {
  const input = withPlan();
  prometheus.values.set(query(input), 0.01);
  const final = await upgradeResult(await start(input));
  expect(final.status).toBe('SUCCEEDED');
  expect(final.trafficSteps?.[0].analysis).toEqual([expect.objectContaining({ check: 'error-rate', phase: 'Successful', measurements: [expect.objectContaining({ value: 0.01 })] })]);
});

test('an analysis failure at the first step rolls back by itself with the measurement in the state', async () => {
  const input = withPlan();
  prometheus.values.set(query(input), 0.2);
  const final = await upgradeResult(await start(input));
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'promote', type: 'AnalysisFailed' });
  expect(final.failure?.message).toContain('analysis error-rate failed at traffic step 1 of 3 (green 10%)');
  expect(final.trafficSteps?.[0].analysis[0]).toMatchObject({ phase: 'Failed', measurements: [expect.objectContaining({ phase: 'Failed', value: 0.2 })] });
  // the failed step has ended, after its analysis; the steps after it never started
  const [failed, ...never] = final.trafficSteps!;
  expect(failed.outcome).toBe('failed');
  expect(Date.parse(failed.endedAt!)).toBeGreaterThanOrEqual(Date.parse(failed.analysis[0].measurements[0].at));
  for (const s of never) expect(s).toEqual({ weight: s.weight, analysis: [] });
  const blue = `${input.target}-1-0-0`;
  expect(world.weightsOf(input.target)).toEqual([{ [blue]: 90, [releaseName(input.target, '2.0.0')]: 10 }, { [blue]: 100 }]);
  expect(final.releases.green?.phase).toBe('OBSOLETE');
  // the measurements are in the history too: the activity's result
  const history = await suite.env.client.workflow.getHandle(`upgrade-${input.target}`).fetchHistory();
  const results = history.events!.flatMap((e) => e.activityTaskCompletedEventAttributes?.result?.payloads ?? []);
  expect(results.map((p) => Buffer.from(p.data!).toString())).toContainEqual(expect.stringMatching(/"phase":"Failed".*"value":0\.2/));
});

test.each(['approve', 'rollback'] as const)('a query with no data pauses at AWAITING_APPROVAL; %s decides', async (decision) => {
  const input = withPlan();
  const h = await start(input);
  await reachesStatus(h, 'AWAITING_APPROVAL');
  const paused = await upgradeState(h);
  expect(paused.waitingFor).toContain('analysis error-rate inconclusive');
  expect(paused.traffic).toEqual({ blue: 90, green: 10 });
  const update = decision === 'approve' ? approveUpdate : rollbackUpdate;
  await signedUpdate(h, update, { by: 'oncall', reason: 'looked at the dashboards' });
  const final = await upgradeResult(h);
  expect(final.status).toBe(decision === 'approve' ? 'SUCCEEDED' : 'ROLLED_BACK');
});

test('onInconclusive fail rolls back instead of pausing', async () => {
  const final = await upgradeResult(await start(withPlan({ onInconclusive: 'fail' })));
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ type: 'AnalysisInconclusive' });
});

test('a Prometheus that stops answering rolls back after consecutiveErrorLimit errors, "analysis provider" in the cause', async () => {
  const input = withPlan({ interval: '200ms', count: 3, consecutiveErrorLimit: 2 });
  prometheus.values.set(query(input), 0.01);
  prometheus.down = true;
  try {
    const final = await upgradeResult(await start(input));
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.failure).toMatchObject({ step: 'promote', type: 'AnalysisError' });
    expect(final.failure?.message).toContain('analysis provider');
    expect(final.trafficSteps?.[0].analysis[0].measurements.filter((m) => m.phase === 'Error')).toHaveLength(3);
  } finally {
    prometheus.down = false;
  }
});

test('verify runs its analysis too', async () => {
  const input = upgradeInput();
  input.options.verifyAnalysis = [errorRate()];
  prometheus.values.set(query(input), 0.3);
  const final = await upgradeResult(await start(input));
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'verify', type: 'AnalysisFailed' });
  expect(final.analysis).toEqual([expect.objectContaining({ phase: 'Failed' })]);
});
