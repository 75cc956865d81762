/**
 * A worker with the shipped workflows and the real activities in a process
 * of its own, pointed at the suite's Kubernetes and EMQX API servers, so a
 * test can SIGKILL it mid-upgrade. Args: taskQueue, target (JSON), kube URL, kube token.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { createActivities } from '../../src/activities';
import type { TargetConfig } from '../../src/config/targets';
import { createWorkflowMetricsSinks } from '../../src/runtime/workflowMetrics';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const [taskQueue, targetJson, kubeUrl, token] = process.argv.slice(2);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: kubeUrl, skipTLSVerify: true }],
    users: [{ name: 'test', token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  const activities = createActivities([JSON.parse(targetJson) as TargetConfig], { kubeConfigFor: () => kc, pollMs: 50 });
  const connection = await NativeConnection.connect({ address: process.env.CUTOVER_TEST_TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! },
    activities,
    sinks: createWorkflowMetricsSinks(new Registry()),
  });
  process.stdout.write('ready\n');
  await worker.run();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
