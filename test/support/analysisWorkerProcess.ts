/** A worker with the analysis activities (http provider) in a process of its own. Args: taskQueue. */
import { builtInProviders, createAnalysisActivities } from '../../src/activities/analysis';
import { runWorkerProcess } from './workerProcess';

runWorkerProcess({
  taskQueue: process.argv[2],
  workflowBundle: { codePath: process.env.CUTOVER_TEST_WORKFLOW_BUNDLE! },
  activities: () => createAnalysisActivities({ providers: builtInProviders({ allowedHosts: () => ['127.0.0.1'] }), heartbeatEveryMs: 200 }),
});
