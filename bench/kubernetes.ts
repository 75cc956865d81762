/**
 * Bench section "kubernetes": how soon traffic follows green's readiness on a
 * real control plane (test/support/kubeControlPlane.ts). Each of N upgrades
 * per mode creates green with pods that do not become Ready by themselves
 * (KWOK's ImagePullBackOff stage), and at a random moment writes the pods'
 * Ready status; measured is the time from just before the last pod's status
 * write to the Service selector on green. Three modes, in turn in one run:
 * - watch: cutover's waitWorkloadReady then setWeights, called one after the
 *   other (setWeights answered);
 * - poll: the same reads every 1 s instead of the watch, as cutover did before
 *   and the EMQX Operator's requeue does;
 * - workflow: the shipped workflow on a dev server of its own, an EMQX target
 *   (EmqxOnKube: a pod that turns Ready joins the suite's EMQX API server),
 *   auto-approved, the worker's default poll intervals; between the last Ready
 *   and the switch come the rest of waitGreenJoined (one activity: the
 *   readiness watch, both releases' nodes, green's join, the cluster's
 *   health), verify (which takes that reading) and the traffic step's
 *   setWeights; the switch is seen by a watch on the Service. Each upgrade
 *   then runs to its end (drain, a 100 ms standby window, clean-up), and the
 *   next one starts from its green. workflowJoinedSeen: from the same last
 *   Ready write to waitGreenJoined's completion in the history (the rest is
 *   a workflow task and setWeights).
 * The 1 s poll is measured in the same run, so the ratios compare like with
 * like on a loaded machine; the load average is reported beside them.
 */
import { loadavg } from 'node:os';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { createActivities } from '../src/activities';
import { createPlatformActivities } from '../src/activities/platforms';
import { Mirror } from '../src/activities/platforms/kubernetes/mirror';
import { targetLookup } from '../src/config/targets';
import { RELEASE_LABEL } from '../src/domain/kubernetes';
import { releaseName, upgradeWorkflowId, type UpgradeState } from '../src/domain/upgrade';
import { startDevServer } from '../src/embedded/devServer';
import { freePort } from '../src/runtime/freePort';
import { workerDefaults } from '../src/runtime/workerDefaults';
import { EmqxOnKube } from '../test/support/emqxOnKube';
import { kubeConfigFor, startControlPlane } from '../test/support/kubeControlPlane';
import { KUBE_ENV, TestNamespace } from '../test/support/kube';
import { latency, type BenchSection } from './section';
import { TEST_STEERING_KEYS } from '../test/support/steering';

const UPGRADES = Number(process.env.BENCH_K8S_UPGRADES ?? 20);
const POLL_MS = 1000;
const TARGET = 'bench-mqtt';
const MODES = ['watch', 'poll', 'workflow'] as const;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const FAST = { connEvictRate: 1000, sessEvictRate: 1000, waitTakeoverMs: 0, waitHealthCheckMs: 0, initialDelayMs: 100, drainIntervalMs: 500 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const exec = <A, R>(fn: (a: A) => Promise<R>, input: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);

/** Once green's 3 pods wait (ImagePullBackOff), after a random delay, writes them Ready; returns the time just before the last write. */
async function turnReady(ns: TestNamespace, release: string, image: string): Promise<number> {
  const selector = `${RELEASE_LABEL}=${release}`;
  await ns.until(async () => (await ns.pods(selector)).filter((p) => p.status?.containerStatuses).length === 3, 60_000);
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
            containerStatuses: [{ name: 'emqx', image, imageID: '', ready: true, restartCount: 0, started: true, state: { running: {} } }],
          },
        },
      },
      MERGE_PATCH,
    );
  }
  return readyAt;
}

/** When the upgrade's waitGreenJoined completed (its ActivityTaskCompleted event), in ms since the epoch. */
async function joinedWaitEnded(h: WorkflowHandle): Promise<number> {
  const events = (await h.fetchHistory()).events!;
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitGreenJoined')!.eventId!;
  const completed = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled))!;
  return tsToMs(completed.eventTime);
}

export const kubernetesBench: BenchSection = {
  name: 'kubernetes',
  async run() {
    const plane = await startControlPlane();
    process.env[KUBE_ENV.url] = plane.url;
    process.env[KUBE_ENV.token] = plane.token;
    // straight to the API server, not through the test namespaces' recording proxies
    const kubeConfig = () => kubeConfigFor(plane.url, plane.token);
    const dev = await startDevServer({ port: await freePort() });
    const ns = await TestNamespace.create('bench');
    const sys = await EmqxOnKube.start('bench-wf');
    let awaited: { release: string; seen: (at: number) => void } | undefined;
    const services = new Mirror<V1Service>({
      kc: kubeConfig(),
      path: `/api/v1/namespaces/${sys.ns.name}/services`,
      fieldSelector: 'metadata.name=emqx',
      list: () => sys.ns.core.listNamespacedService({ namespace: sys.ns.name, fieldSelector: 'metadata.name=emqx' }),
      onChange: () => {
        if (awaited && services.items()[0]?.spec?.selector?.[RELEASE_LABEL] === awaited.release) awaited.seen(performance.now());
      },
      onError: () => undefined,
    });
    const taskQueue = 'bench-kubernetes';
    const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: dev.address }),
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: new DefaultLogger('ERROR') }),
      activities: createActivities([sys.target], { kubeConfigFor: kubeConfig, env: { TEST_EMQX_KEY: sys.emqx.apiKey, TEST_EMQX_SECRET: sys.emqx.apiSecret }, temporal: client, steeringKeys: TEST_STEERING_KEYS }),
      ...workerDefaults(),
    });
    const running = worker.run();
    try {
      await ns.seedBlue();
      await services.start();
      const a = createPlatformActivities({
        targets: targetLookup([{ name: TARGET, kind: 'emqx', kubernetes: { namespace: ns.name, workload: { kind: 'StatefulSet', name: 'emqx' }, service: 'emqx' } }]),
        kubeConfigFor: kubeConfig,
      });

      /** The old way: read the workload and its pods every second until all are Ready. */
      const pollUntilReady = async (release: string): Promise<void> => {
        for (;;) {
          const [sts, pods] = await Promise.all([
            ns.apps.readNamespacedStatefulSet({ name: release, namespace: ns.name }),
            ns.core.listNamespacedPod({ namespace: ns.name, labelSelector: `${RELEASE_LABEL}=${release}` }),
          ]);
          const ready = pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
          if ((sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0) && ready >= (sts.spec?.replicas ?? 1)) return;
          await sleep(POLL_MS);
        }
      };

      /** watch or poll: the two activities (or the poll and setWeights) chained here. */
      const chained = async (mode: 'watch' | 'poll', i: number): Promise<number> => {
        const green = { name: `${TARGET}-5-8-${i}`, version: `5.8.${i}` };
        const image = `emqx/emqx:5.8.${i}-typo`;
        await exec(a.ensureGreenWorkload, { target: TARGET, green, image });
        const switched = (mode === 'watch' ? exec(a.waitWorkloadReady, { target: TARGET, release: green.name }) : pollUntilReady(green.name)).then(() =>
          exec(a.setWeights, { target: TARGET, weights: { [green.name]: 100 } }),
        );
        const readyAt = await turnReady(ns, green.name, image);
        await switched;
        const ms = performance.now() - readyAt;
        await exec(a.setWeights, { target: TARGET, weights: { emqx: 100 } });
        await exec(a.deleteWorkload, { target: TARGET, release: green.name });
        return ms;
      };

      /** The shipped workflow, to the end of the upgrade; the switch as the Service watch sees it. */
      const workflow = async (i: number): Promise<{ ms: number; joinedSeenMs: number }> => {
        const version = `5.9.${i}`;
        const image = `emqx/emqx:${version}-typo`;
        const release = releaseName(sys.target.name, version);
        const switched = new Promise<number>((seen) => (awaited = { release, seen }));
        const h = await client.workflow.start('blueGreenUpgrade', {
          taskQueue,
          workflowId: upgradeWorkflowId(sys.target.name),
          args: [
            {
              kind: 'emqx',
              target: sys.target.name,
              version,
              image,
              requestedBy: 'bench',
              options: { approval: 'auto', standbyWindowMs: 100, maxAttempts: 3 },
              settings: { emqx: FAST },
            },
          ],
        });
        const result = h.result() as Promise<UpgradeState>;
        const ended = result.then((s) => Promise.reject(new Error(`upgrade to ${version} ended ${s.status} before its pods were Ready: ${JSON.stringify(s.failure)}`)));
        ended.catch(() => undefined);
        const readyAt = await Promise.race([turnReady(sys.ns, release, image), ended]);
        const ms = (await Promise.race([switched, ended])) - readyAt;
        const final = await result;
        if (final.status !== 'SUCCEEDED') throw new Error(`upgrade to ${version} ended ${final.status}: ${JSON.stringify(final.failure)}`);
        return { ms, joinedSeenMs: (await joinedWaitEnded(h)) - (performance.timeOrigin + readyAt) };
      };

      const samples: Record<(typeof MODES)[number], number[]> = { watch: [], poll: [], workflow: [] };
      const joinedSeen: number[] = [];
      const loadBefore = loadavg()[0]!;
      for (let i = 0; i < UPGRADES * MODES.length; i++) {
        const mode = MODES[i % MODES.length]!;
        const n = Math.floor(i / MODES.length);
        if (mode !== 'workflow') samples[mode].push(await chained(mode, n));
        else {
          const { ms, joinedSeenMs } = await workflow(n);
          samples.workflow.push(ms);
          joinedSeen.push(joinedSeenMs);
        }
      }
      const watch = latency(samples.watch);
      const poll = latency(samples.poll);
      const shipped = latency(samples.workflow);
      const ratio = (slow: ReturnType<typeof latency>, fast: ReturnType<typeof latency>) => ({ p50: +(slow.p50Ms / fast.p50Ms).toFixed(1), p99: +(slow.p99Ms / fast.p99Ms).toFixed(1) });
      return {
        what: 'ms from the last green pod turning Ready to the Service selector on green, real kube-apiserver v1.34.4 + KWOK',
        upgrades: UPGRADES,
        loadAverage: { before: +loadBefore.toFixed(1), after: +loadavg()[0]!.toFixed(1) },
        watch,
        poll1s: poll,
        ratioP50: ratio(poll, watch).p50,
        ratioP99: ratio(poll, watch).p99,
        workflow: { ...shipped, target: { p50Ms: 60, p99Ms: 150 }, met: shipped.p50Ms <= 60 && shipped.p99Ms <= 150 },
        pollOverWorkflow: ratio(poll, shipped),
        workflowJoinedSeen: latency(joinedSeen),
      };
    } finally {
      worker.shutdown();
      await running;
      services.stop();
      await Promise.all([ns.delete(), sys.close()]);
      await dev.stop();
      await plane.stop();
    }
  },
};
