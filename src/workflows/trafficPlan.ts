/**
 * The traffic plan the skeleton owns: green's weight rises step by step
 * through the platform port's setWeights, each step followed by its pause,
 * its analysis checks and its optional approval. All traffic back on blue is
 * registered as the compensation before the first change.
 */
import { sleep } from '@temporalio/workflow';
import type { AnalysisActivities } from '../activities/analysis';
import { measuringMs, type AnalysisCheck, type AnalysisResult } from '../domain/analysis';
import { formatDuration } from '../domain/duration';
import type { PlatformActivities } from '../domain/platform';
import { weightsByRelease, type Role } from '../domain/traffic';
import type { ReleaseRef, Step, TrafficStep, TrafficStepState } from '../domain/upgrade';
import { callActivity, stepActivities, undoActivities } from './activityOptions';
import { awaitApproval } from './gates';
import type { Saga } from './saga';
import { metrics } from './sinks';
import { StepFailed } from './failures';
import type { UpgradeStateKeeper } from './upgradeStateKeeper';

/** owner: the upgrade's id where its activities check ownership (StrategyContext.owner). */
export async function shiftTraffic(upgrade: UpgradeStateKeeper, saga: Saga, releases: Record<Role, ReleaseRef>, owner?: string): Promise<void> {
  const { input, state } = upgrade;
  const { target } = input;
  const names = { blue: releases.blue.name, green: releases.green.name };
  saga.register('promote', 'traffic on blue', async (deadline) => {
    const weights = weightsByRelease(names, 0);
    await callActivity(undoActivities<PlatformActivities>(deadline).setWeights, `send all traffic back to ${names.blue}`, { target, weights, owner });
    upgrade.weighted(0, 'rollback: all traffic back on blue');
    metrics.trafficWeights({ target, weights });
  });
  const steps = input.options.traffic;
  state.trafficSteps = steps.map((s) => ({ weight: s.weight, analysis: [] }));
  for (const [i, step] of steps.entries()) {
    const record = state.trafficSteps[i];
    const label = steps.length === 1 ? `traffic ${step.weight}% to green` : `traffic step ${i + 1} of ${steps.length} (green ${step.weight}%)`;
    record.startedAt = new Date().toISOString();
    const end = (outcome: NonNullable<TrafficStepState['outcome']>) => {
      record.endedAt = new Date().toISOString();
      record.outcome = outcome;
      const seconds = (Date.parse(record.endedAt) - Date.parse(record.startedAt!)) / 1000;
      metrics.stepFinished({ kind: input.kind, step: `traffic-${step.weight}`, seconds, outcome: outcome === 'completed' ? 'completed' : 'failed' });
    };
    try {
      await trafficStep(upgrade, { step, label, names, record, owner });
    } catch (err) {
      end(upgrade.stop ? 'stopped' : 'failed');
      throw err;
    }
    end('completed');
  }
}

/** One step of the plan: its weights, its pause, its analysis checks, its approval. */
async function trafficStep(
  upgrade: UpgradeStateKeeper,
  s: { step: TrafficStep; label: string; names: Record<Role, string>; record: TrafficStepState; owner?: string },
): Promise<void> {
  const { input } = upgrade;
  const { step, label, names, record, owner } = s;
  upgrade.setWaitingFor(`${label}: setting router weights`);
  const weights = weightsByRelease(names, step.weight);
  await callActivity(stepActivities<PlatformActivities>(input, upgrade.window).setWeights, `${label}: blue ${100 - step.weight}, green ${step.weight}`, { target: input.target, weights, owner });
  upgrade.weighted(step.weight, label);
  metrics.trafficWeights({ target: input.target, weights });
  if (step.pauseMs) {
    upgrade.setWaitingFor(`${label}: pause of ${formatDuration(step.pauseMs)}`);
    await sleep(step.pauseMs, { summary: `${label}: pause` });
  }
  for (const check of step.analysis) await analyse(upgrade, { step: 'promote', where: label, check, names, keep: (r) => record.analysis.push(r) });
  if (step.approve) {
    record.approvedBy = await awaitApproval(upgrade, { step: 'promote', before: `the next traffic step after ${label}`, why: `${label} asks for approval` });
  }
}

/**
 * One analysis run. Failed and Error roll back (with the measurements in the
 * state and the history); Inconclusive pauses for a person unless the check
 * says onInconclusive fail.
 */
export async function analyse(
  upgrade: UpgradeStateKeeper,
  run: { step: Step; where: string; check: AnalysisCheck; names: Record<Role, string>; keep: (r: AnalysisResult) => void },
): Promise<void> {
  const { input } = upgrade;
  const { step, where, check, names } = run;
  const runsFor = measuringMs(check);
  const acts = stepActivities<AnalysisActivities>(input, upgrade.window, { startToCloseTimeout: runsFor + 5 * 60_000, heartbeatTimeout: '1 minute' });
  upgrade.setWaitingFor(`${where}: analysis ${check.name}${runsFor ? ` (${formatDuration(runsFor)})` : ''}`);
  const result = await callActivity(acts.runAnalysis, `${where}: analysis ${check.name}`, {
    target: input.target,
    check,
    vars: { target: input.target, release: names.green, blue: names.blue, green: names.green },
  });
  run.keep(result);
  metrics.analysisFinished({ target: input.target, kind: input.kind, provider: check.provider, result });
  upgrade.record({ what: 'step', by: 'cutover', why: `${where}: analysis ${check.name} ${result.phase}: ${result.message}` });
  if (result.phase === 'Failed') throw new StepFailed(step, `analysis ${check.name} failed at ${where}: ${result.message}`, 'AnalysisFailed');
  if (result.phase === 'Error') throw new StepFailed(step, `analysis provider failed for ${check.name} at ${where}: ${result.message}`, 'AnalysisError');
  if (result.phase === 'Inconclusive') {
    if (check.onInconclusive === 'fail') throw new StepFailed(step, `analysis ${check.name} inconclusive at ${where}: ${result.message}`, 'AnalysisInconclusive');
    await awaitApproval(upgrade, {
      step,
      before: `continuing past the inconclusive analysis ${check.name}`,
      why: `analysis ${check.name} inconclusive at ${where}: ${result.message}`,
    });
  }
}
