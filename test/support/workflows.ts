/** The test bundle: the real skeleton, driven by a strategy that exists only in the tests; and one analysis run on its own. */
import { proxyActivities } from '@temporalio/workflow';
import type { AnalysisActivities, RunAnalysisInput } from '../../src/activities/analysis';
import { createBlueGreenUpgrade } from '../../src/workflows/blueGreenUpgrade';
import { scriptedStrategy } from './scriptedStrategy';

export const blueGreenUpgrade = createBlueGreenUpgrade(() => scriptedStrategy);

/** runAnalysis as the traffic plan calls it, with a short heartbeat timeout so a dead worker is noticed at once. */
export async function analysisRun(input: RunAnalysisInput): Promise<ReturnType<AnalysisActivities['runAnalysis']>> {
  const { runAnalysis } = proxyActivities<AnalysisActivities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '2 seconds', retry: { initialInterval: '100ms' } });
  return runAnalysis(input);
}
