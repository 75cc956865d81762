/**
 * The upcast the workflow runs on its input: an input recorded before
 * settings were complete (the replay corpus's, an upgrade in flight) gets
 * what it lacks as the API gives it now, its older units converted.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { completeInput, type RecordedUpgradeInput } from '../../src/domain/upgradeSettings';

const HISTORIES = join(__dirname, '..', 'fixtures', 'histories');

/** The input each history's run was started with, as the Temporal CLI wrote it. */
function recordedInput(file: string): RecordedUpgradeInput {
  type Started = { workflowExecutionStartedEventAttributes: { input: { payloads: { data: string }[] } } };
  const { events } = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')) as { events: [Started] };
  return JSON.parse(Buffer.from(events[0].workflowExecutionStartedEventAttributes.input.payloads[0]!.data, 'base64').toString()) as RecordedUpgradeInput;
}

const corpus = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));

test.each(corpus)('%s: its recorded input upcast, every setting present and the recorded ones kept', (file) => {
  const recorded = recordedInput(file);
  const input = completeInput(recorded);
  // what the run recorded stays, but the gate before promote's older fields and the kind's settings, which move
  const { approval, standbyWindowMs, maxAttempts, requireDistinctApprover } = recorded.options;
  expect(input.options).toMatchObject({ approval, standbyWindowMs, maxAttempts, requireDistinctApprover });
  expect(Object.keys(input.options).sort()).toEqual(
    ['approval', 'approveBefore', 'gates', 'maxAttempts', 'requireDistinctApprover', 'rollbackTimeoutMs', 'standbyWindowMs', 'stepTimeoutMs', 'traffic', 'verifyAnalysis', 'waitForReadyReport'],
  );
  expect(input.options.approveBefore).toEqual(recorded.options.approval === 'manual' ? ['promote'] : []);
  expect(input.options.rollbackTimeoutMs).toBe(3_600_000);
  expect(Object.keys(input.settings)).toEqual([recorded.kind]);
});

test("an EMQX upgrade's drain recorded in seconds, under options.settings: in milliseconds, the rest defaults", () => {
  const input = completeInput(recordedInput('emqx-local.shipped.json'));
  expect(input.settings).toEqual({
    emqx: { drain: 'auto', connEvictRate: 50, sessEvictRate: 50, waitTakeoverMs: 1000, waitHealthCheckMs: 1000, initialDelayMs: 500, drainIntervalMs: 500, scaleDownDuringDrain: false },
  });
  expect(input.options).toMatchObject({ traffic: [{ weight: 100, analysis: [] }], verifyAnalysis: [], gates: { promote: {}, finalize: {} }, waitForReadyReport: false });
});

test('a traffic plan recorded as steps stays as recorded', () => {
  const recorded = recordedInput('happy-path.scripted.json');
  expect(completeInput(recorded).options.traffic).toEqual(recorded.options.traffic);
});

test("the gate before promote as runs before gates recorded it (approval manual's autoPromoteAfterMs, stepTimeoutMs.gate)", () => {
  const recorded: RecordedUpgradeInput = {
    kind: 'emqx',
    target: 'orders',
    version: '5.8.0',
    requestedBy: 'alice',
    options: { approval: 'manual', autoPromoteAfterMs: 3_600_000, standbyWindowMs: 1000, stepTimeoutMs: { gate: 7_200_000 }, maxAttempts: 2, requireDistinctApprover: false },
  };
  expect(completeInput(recorded).options).toMatchObject({ approveBefore: ['promote'], gates: { promote: { autoPromoteAfterMs: 3_600_000, timeoutMs: 7_200_000 }, finalize: {} } });
  // approval auto never auto-promotes: there is no gate
  expect(completeInput({ ...recorded, options: { ...recorded.options, approval: 'auto' } }).options).toMatchObject({ approveBefore: [], gates: { promote: { timeoutMs: 7_200_000 }, finalize: {} } });
});

test("a kind's settings recorded given-only, in either place: the kind's defaults under them", () => {
  const base = { target: 'orders', version: '2.0.0', requestedBy: 'alice', options: { approval: 'auto' as const } };
  const kong = { kind: 'kong' as const, ...base };
  expect(completeInput({ ...kong, options: { ...base.options, settings: { kong: { backup: false } } } }).settings).toEqual({ kong: { finishPending: false, backup: false, smoke: [], drainTimeoutMs: 90_000 } });
  expect(completeInput({ ...kong, settings: { kong: { drainTimeoutMs: 1000 } } }).settings).toEqual({ kong: { finishPending: false, backup: true, smoke: [], drainTimeoutMs: 1000 } });
  expect(completeInput({ kind: 'projection', ...base }).settings).toEqual({ projection: { maxLag: 100, holdMs: 10_000, stallAfterMs: 30_000, stallTimeoutMs: 600_000, pollMs: 5000 } });
});
