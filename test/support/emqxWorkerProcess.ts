/**
 * A worker with the shipped workflows and the real activities in a process
 * of its own, pointed at the suite's Kubernetes and EMQX API servers, so a
 * test can SIGKILL it mid-upgrade. Args: taskQueue, target (JSON), kube URL, kube token.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { createActivities } from '../../src/activities';
import type { TargetConfig } from '../../src/config/targets';
import { runWorkerProcess } from './workerProcess';

const [taskQueue, targetJson, kubeUrl, token] = process.argv.slice(2);
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'test', server: kubeUrl, skipTLSVerify: true }],
  users: [{ name: 'test', token }],
  contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
  currentContext: 'test',
});
runWorkerProcess({
  taskQueue,
  workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! },
  activities: createActivities([JSON.parse(targetJson) as TargetConfig], { kubeConfigFor: () => kc, pollMs: 50 }),
});
