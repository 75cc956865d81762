/** The test bundle: the real skeleton and preview, driven by a strategy that exists only in the tests; and one analysis run on its own. */
import { defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { AnalysisActivities, RunAnalysisInput } from '../../src/activities/analysis';
import type { UpgradeInput } from '../../src/domain/upgrade';
import { createBlueGreenUpgrade } from '../../src/workflows/blueGreenUpgrade';
import { createPreviewUpgrade } from '../../src/workflows/previewUpgrade';
import { scriptedStrategy } from './scriptedStrategy';

const skeleton = createBlueGreenUpgrade(() => scriptedStrategy);
export const previewUpgrade = createPreviewUpgrade(() => scriptedStrategy);

/**
 * A bug in workflow code that no step guard catches: its handler throws a plain Error, which fails the
 * workflow task, and Temporal retries that task (and fails it again on every replay) until someone
 * terminates the run or a fixed worker is deployed. How a run gets stuck (tests of what the API shows).
 */
export const wedgeSignal = defineSignal<[string]>('test-wedge');

export async function blueGreenUpgrade(input: UpgradeInput) {
  setHandler(wedgeSignal, (message) => {
    throw new Error(message);
  });
  return skeleton(input);
}

/** runAnalysis as the traffic plan calls it, with a short heartbeat timeout so a dead worker is noticed at once. */
export async function analysisRun(input: RunAnalysisInput): Promise<ReturnType<AnalysisActivities['runAnalysis']>> {
  const { runAnalysis } = proxyActivities<AnalysisActivities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '2 seconds', retry: { initialInterval: '100ms' } });
  return runAnalysis(input);
}
