/**
 * A worker with the shipped workflows and the real activities in a process
 * of its own, pointed at the suite's Kubernetes control plane (through a test
 * namespace's recording proxy) and EMQX API server, so a test can SIGKILL it
 * mid-upgrade. Args: taskQueue, target (JSON), kube URL, kube token.
 */
import { createActivities } from '../../src/activities';
import type { TargetConfig } from '../../src/config/targets';
import { kubeConfigFor } from './kubeControlPlane';
import { runWorkerProcess } from './workerProcess';
import { TEST_STEERING_KEYS } from './steering';

const [taskQueue, targetJson, kubeUrl, token] = process.argv.slice(2);
const kc = kubeConfigFor(kubeUrl!, token!);
runWorkerProcess({
  taskQueue,
  workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! },
  activities: (temporal) => createActivities([JSON.parse(targetJson) as TargetConfig], { kubeConfigFor: () => kc, pollMs: 50, temporal, steeringKeys: TEST_STEERING_KEYS }),
});
