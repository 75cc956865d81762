/**
 * Bench section "kubernetes": how soon traffic follows green's readiness on a
 * real control plane (test/support/kubeControlPlane.ts). Each of N upgrades
 * creates green with pods that do not become Ready by themselves (KWOK's
 * ImagePullBackOff stage), starts the wait, and at a random moment writes the
 * pods' Ready status; measured is the time from just before the last pod's
 * status write to the Service selector patched onto green (setWeights
 * answered). Watch: cutover's waitWorkloadReady; poll: the same reads every
 * 1 s, as cutover did before and the EMQX Operator's requeue does. Both in
 * the same run, alternating.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createKubernetesActivities } from '../src/activities/platforms/kubernetes';
import { targetLookup } from '../src/config/targets';
import { kubeConfigFor, startControlPlane } from '../test/support/kubeControlPlane';
import { KUBE_ENV, TestNamespace } from '../test/support/kube';
import { latency, type BenchSection } from './section';

const UPGRADES = Number(process.env.BENCH_K8S_UPGRADES ?? 20);
const POLL_MS = 1000;
const TARGET = 'bench-mqtt';
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const exec = <A, R>(fn: (a: A) => Promise<R>, input: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);

export const kubernetesBench: BenchSection = {
  name: 'kubernetes',
  async run() {
    const plane = await startControlPlane();
    process.env[KUBE_ENV.url] = plane.url;
    process.env[KUBE_ENV.token] = plane.token;
    const ns = await TestNamespace.create('bench');
    try {
      await ns.seedBlue();
      const a = createKubernetesActivities({
        targets: targetLookup([{ name: TARGET, kind: 'emqx', kubernetes: { namespace: ns.name, workload: { kind: 'StatefulSet', name: 'emqx' }, service: 'emqx' } }]),
        // straight to the API server, not through the test namespace's recording proxy
        kubeConfigFor: () => kubeConfigFor(plane.url, plane.token),
      });

      /** The old way: read the workload and its pods every second until all are Ready. */
      const pollUntilReady = async (release: string): Promise<void> => {
        for (;;) {
          const [sts, pods] = await Promise.all([
            ns.apps.readNamespacedStatefulSet({ name: release, namespace: ns.name }),
            ns.core.listNamespacedPod({ namespace: ns.name, labelSelector: `cutover.io/release=${release}` }),
          ]);
          const ready = pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
          if ((sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0) && ready >= (sts.spec?.replicas ?? 1)) return;
          await sleep(POLL_MS);
        }
      };

      const samples: Record<'watch' | 'poll', number[]> = { watch: [], poll: [] };
      for (let i = 0; i < UPGRADES * 2; i++) {
        const mode = i % 2 === 0 ? 'watch' : 'poll';
        const green = { name: `${TARGET}-5-8-${i}`, version: `5.8.${i}` };
        await exec(a.ensureGreenWorkload, { target: TARGET, green, image: `emqx/emqx:5.8.${i}-typo` });
        const selector = `cutover.io/release=${green.name}`;
        await ns.until(async () => (await ns.pods(selector)).filter((p) => p.status?.containerStatuses).length === 3);
        const switched = (mode === 'watch' ? exec(a.waitWorkloadReady, { target: TARGET, release: green.name }) : pollUntilReady(green.name)).then(() =>
          exec(a.setWeights, { target: TARGET, weights: { [green.name]: 100 } }),
        );
        await sleep(Math.random() * POLL_MS);
        let readyAt = 0;
        for (const pod of await ns.pods(selector)) {
          readyAt = performance.now();
          await ns.core.patchNamespacedPodStatus(
            {
              name: pod.metadata!.name!,
              namespace: ns.name,
              body: {
                status: {
                  phase: 'Running',
                  conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True' })),
                  containerStatuses: [{ name: 'emqx', image: `emqx/emqx:5.8.${i}-typo`, imageID: '', ready: true, restartCount: 0, started: true, state: { running: {} } }],
                },
              },
            },
            MERGE_PATCH,
          );
        }
        await switched;
        samples[mode].push(performance.now() - readyAt);
        await exec(a.setWeights, { target: TARGET, weights: { emqx: 100 } });
        await exec(a.deleteWorkload, { target: TARGET, release: green.name });
      }
      const watch = latency(samples.watch);
      const poll = latency(samples.poll);
      return {
        what: 'ms from the last green pod turning Ready to the Service selector on green, real kube-apiserver v1.34.4 + KWOK',
        upgrades: UPGRADES,
        watch,
        poll1s: poll,
        ratioP50: +(poll.p50Ms / watch.p50Ms).toFixed(1),
        ratioP99: +(poll.p99Ms / watch.p99Ms).toFixed(1),
      };
    } finally {
      await ns.delete();
      await plane.stop();
    }
  },
};
