/**
 * EMQX: green nodes start beside blue and join the same cluster; the Service
 * moves to green only once every green node is a running member; then blue
 * nodes are evacuated one at a time at a set rate (connections, then
 * sessions) onto the green nodes. Blue then stands by whole, every node
 * prohibiting, so a rollback in the window has it back at once; it is scaled
 * down one node at a time in cleanUpBlue (or, with scaleDownDuringDrain, as
 * each node is drained, as the EMQX Operator does). The skeleton reads blue,
 * creates green and removes blue; this adds what EMQX needs around that.
 */
import { ApplicationFailure, isCancellation, patched, sleep } from '@temporalio/workflow';
import type { EmqxActivities } from '../../activities/emqx';
import type { GreenJoinedActivities } from '../../activities/emqx/greenJoined';
import { drainOrder, type ClusterHealth, type NodeEvacuationStatus, type NodeHealth } from '../../domain/emqx/cluster';
import { EVACUATION_UNAVAILABLE } from '../../domain/emqx/errors';
import { describeRelease, planDrain } from '../../domain/emqx/versions';
import type { PlatformActivities } from '../../domain/platform';
import { formatDuration } from '../../domain/duration';
import { callActivity } from '../activityOptions';
import type { Strategy, StrategyContext } from '../strategy';

/** Upgrades that reached drainBlue before blue stood by whole replay as they ran: blue scaled down during the drain. */
const BLUE_STANDS_BY = 'emqx-blue-stands-by';
/** Upgrades that reached waitReady before green's and blue's nodes were listed side by side replay one after the other. */
const NODES_AT_ONCE = 'emqx-nodes-at-once';
/**
 * Upgrades planned before the support matrix replay as they ran: plan only
 * checked that the API answers, and the drain found out at blue's first node
 * whether it could evacuate. From it, plan reads blue's version and edition,
 * refuses what cutover cannot drive, and decides the drain.
 */
const SUPPORT_MATRIX = 'emqx-support-matrix';
/**
 * Upgrades that reached verify before it read membership again replay as they
 * ran: one GET /nodes, a node missing from it a non-retryable "cluster
 * unhealthy". From it, verify reads until every node is a running member
 * (within its time limit or retry window), since GET /nodes leaves out a
 * running node whose node-info RPC failed; and a rollback stops the
 * evacuation of every blue node not listed stopped, listed or not.
 */
const MEMBERSHIP_REREAD = 'emqx-membership-reread';
/**
 * Upgrades that reached waitReady before it was one activity replay as they
 * ran: green's readiness, both releases' nodes, green's join and verify's
 * health each an activity. From it, waitGreenJoined does all of it on the
 * worker, and verify takes the health it read when nothing waited between.
 */
const GREEN_JOINED_AT_ONCE = 'emqx-green-joined-at-once';
/** What plan reads of blue's pod template: how its nodes find each other (EMQX's env overrides of cluster.*). */
const DISCOVERY_ENV = ['EMQX_CLUSTER__DISCOVERY_STRATEGY'];

/** Per node, the operator's nodeEvacuationsStatus entry, or how the fallback drain removed it. */
type DrainRecord = Partial<NodeEvacuationStatus> & { node: string; state: string };

/** What the EMQX strategy learns, step by step. */
export interface EmqxFacts {
  blueReplicas: number;
  /** Blue nodes still running; blue is scaled down only during clean-up, unless scaleDownDuringDrain. */
  blueRunning: number;
  drainMode: 'evacuation' | 'pod-removal';
  /** What plan read of blue (its release, the drain decided), for the details. */
  releaseNote?: string;
  /** Blue's cores find each other by static seeds: green's must name its own nodes too. */
  staticCores: boolean;
  greenNodes: string[];
  blueNodes: string[];
  /** The cluster as waitGreenJoined read it (absent in runs from before GREEN_JOINED_AT_ONCE). */
  joinedHealth?: ClusterHealth;
  /** drainBlue began before BLUE_STANDS_BY: blue was scaled down during the drain, evacuations stopped one by one. */
  legacyDrain: boolean;
  scaleDuringDrain: boolean;
  drained: DrainRecord[];
}

type Ctx = StrategyContext<'emqx', EmqxFacts>;
type Acts = PlatformActivities & EmqxActivities & GreenJoinedActivities;

const nodesOf = async (ctx: Ctx, release: string): Promise<string[]> => {
  const pods = await callActivity(ctx.activities<Acts>().listReleasePods, `list pods of ${release}`, { target: ctx.input.target, release });
  // A replicant's node is named after its pod's IP (the EMQX Operator's emqx@<pod IP>).
  return callActivity(ctx.activities<Acts>().emqxNodeNames, `EMQX node names of ${release}`, { target: ctx.input.target, pods: pods.map((p) => ({ name: p.name, ip: p.ip })) });
};

/**
 * Static discovery (cluster.static.seeds): green's cores must name blue's
 * nodes to join them, and their own, or once blue is gone a restarted green
 * core, and the next upgrade's nodes, would find no seed alive. A
 * StatefulSet's pods are <green>-0..n-1, so their node names are known
 * before they exist.
 */
const greenSeeds = async (ctx: Ctx): Promise<string> => {
  const green = Array.from({ length: ctx.facts.blueReplicas }, (_, i) => ({ name: `${ctx.green.name}-${i}` }));
  const names = await callActivity(ctx.activities<Acts>().emqxNodeNames, `EMQX node names of ${ctx.green.name}`, { target: ctx.input.target, pods: green });
  return JSON.stringify([...new Set([...(await nodesOf(ctx, ctx.blue.name)), ...names])]);
};

const reportDrainMode = (ctx: Ctx): void => {
  const every = formatDuration(ctx.input.settings.emqx.drainIntervalMs);
  ctx.report(
    'drainMode',
    ctx.facts.scaleDuringDrain
      ? `pod-removal: the EMQX API has no node evacuation; removing blue pods one every ${every}`
      : `pod-removal: the EMQX API has no node evacuation; blue keeps its clients until cleanUpBlue removes its pods one every ${every}`,
  );
};

const reportDrained = (ctx: Ctx, entry: DrainRecord): void => {
  const { drained } = ctx.facts;
  const now = drained.some((d) => d.node === entry.node) ? drained.map((d) => (d.node === entry.node ? entry : d)) : [...drained, entry];
  ctx.learn({ drained: now });
  ctx.report('nodeEvacuationsStatus', now);
};

/** Evacuate one node through EMQX's rebalance API and wait until it is prohibiting. */
const evacuate = async (ctx: Ctx, node: string, to: string[]): Promise<void> => {
  const { target } = ctx.input;
  const settings = ctx.input.settings.emqx;
  await callActivity(ctx.activities<Acts>().startEvacuation, `evacuate ${node} at ${settings.connEvictRate} conn/s, ${settings.sessEvictRate} sess/s`, {
    target,
    node,
    connEvictRate: settings.connEvictRate,
    sessEvictRate: settings.sessEvictRate,
    waitTakeoverMs: settings.waitTakeoverMs,
    waitHealthCheckMs: settings.waitHealthCheckMs,
    migrateTo: to,
  });
  ctx.waitingFor(`evacuation of ${node} to reach prohibiting`);
  reportDrained(ctx, await callActivity(ctx.longWaits<Acts>().waitEvacuated, `wait until ${node} is evacuated`, { target, node }));
};

/** Removed nodes must not stay listed in the cluster (emqx-operator #1021); one that will not go is reported, not fatal. */
const forget = async (ctx: Ctx, nodes: string[]): Promise<void> => {
  const left: string[] = [];
  for (const node of nodes) {
    try {
      await callActivity(ctx.activities<Acts>().forgetNode, `remove ${node} from the cluster`, { target: ctx.input.target, node });
    } catch (err) {
      if (isCancellation(err)) throw err;
      left.push(node);
    }
  }
  if (left.length) ctx.report('nodesLeftInCluster', left);
};

/** Scale blue down by one with a conditional write, so a retried or replayed step never removes two. */
const removeBlueNode = async (ctx: Ctx, what: string): Promise<void> => {
  const running = ctx.facts.blueRunning;
  await callActivity(ctx.activities<Acts>().scaleDownByOne, `remove ${what}: scale ${ctx.blue.name} to ${running - 1}`, {
    target: ctx.input.target,
    release: ctx.blue.name,
    expectedReplicas: running,
    owner: ctx.owner,
  });
  ctx.learn({ blueRunning: running - 1 });
  if (ctx.facts.drainMode === 'pod-removal') reportDrained(ctx, { node: what, state: 'removed' });
};

const isUnavailable = (err: unknown): boolean => err instanceof Error && err.cause instanceof ApplicationFailure && err.cause.type === EVACUATION_UNAVAILABLE;

export const emqxStrategy: Strategy<'emqx', EmqxFacts> = {
  blueEnv: DISCOVERY_ENV,

  async plan({ input, blue, activities }) {
    const facts: EmqxFacts = {
      blueReplicas: blue.replicas,
      blueRunning: blue.replicas,
      drainMode: 'evacuation',
      staticCores: false,
      greenNodes: [],
      blueNodes: [],
      legacyDrain: false,
      scaleDuringDrain: false,
      drained: [],
    };
    // Bad credentials, an unreachable API or a version cutover cannot drive must stop the upgrade before anything is changed.
    if (!patched(SUPPORT_MATRIX)) {
      await callActivity(activities<Acts>().clusterHealth, `check the EMQX API of ${input.target} answers`, { target: input.target, expectNodes: [] });
      return facts;
    }
    const releases = await callActivity(activities<Acts>().clusterReleases, `read the EMQX version and edition of ${input.target}`, { target: input.target });
    const drain = planDrain(releases, input.version, input.settings.emqx.drain);
    if ('problem' in drain) throw ApplicationFailure.nonRetryable(drain.problem, 'Unsupported');
    return {
      ...facts,
      drainMode: drain.mode,
      staticCores: blue.env?.EMQX_CLUSTER__DISCOVERY_STRATEGY?.replace(/"/g, '') === 'static' && blue.workload?.kind === 'StatefulSet',
      releaseNote: `${releases.map(describeRelease).join(', ')}; drain by ${drain.mode}`,
    };
  },

  planned: (facts) => ({ note: facts.releaseNote ?? '', drain: facts.drainMode, staticCores: facts.staticCores }),

  async deployGreen(ctx, create) {
    const { releaseNote, staticCores, blueReplicas } = ctx.facts;
    if (releaseNote) ctx.report('emqx', releaseNote);
    await create({ replicas: blueReplicas, ...(staticCores ? { env: { EMQX_CLUSTER__STATIC__SEEDS: await greenSeeds(ctx) } } : {}) });
  },

  async removeGreen(ctx, remove) {
    const greenNodes = ctx.facts.greenNodes.length ? ctx.facts.greenNodes : await nodesOf(ctx, ctx.green.name);
    ctx.learn({ greenNodes });
    const back = ctx.facts.blueNodes.length ? ctx.facts.blueNodes : await nodesOf(ctx, ctx.blue.name);
    try {
      if (ctx.facts.drainMode === 'pod-removal') throw new Error(`${ctx.facts.releaseNote ?? 'this EMQX'}: no node evacuation`);
      const health = await callActivity(ctx.activities<Acts>().clusterHealth, 'which green nodes serve', { target: ctx.input.target, expectNodes: greenNodes });
      // Move clients off green before it goes, so rollback loses no session either.
      for (const node of health.nodes.filter((n) => n.status === 'running' && n.member)) await evacuate(ctx, node.node, back);
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Without EMQX's help green is removed anyway: its clients reconnect to blue through the Service.
      ctx.report('rollbackNote', `green removed without evacuation: ${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : String(err)}`);
    }
    await remove();
    await forget(ctx, greenNodes);
  },

  async waitReady(ctx, workloadReady) {
    const { target } = ctx.input;
    if (patched(GREEN_JOINED_AT_ONCE)) {
      // Ready pods are not enough: a node that never joins must never get traffic (emqx-operator #941).
      ctx.waitingFor(`every pod of ${ctx.green.name} to be ready and its nodes to join the cluster`);
      const joined = await callActivity(ctx.longWaits<Acts>().waitGreenJoined, `wait for ${ctx.green.name} pods to be ready and its nodes to join the cluster`, {
        target,
        green: ctx.green.name,
        blue: ctx.blue.name,
      });
      ctx.report('greenNodes', joined.greenNodes);
      ctx.report('blueNodes', joined.blueNodes);
      return { greenNodes: joined.greenNodes, blueNodes: joined.blueNodes, joinedHealth: joined.health };
    }
    await workloadReady();
    // Traffic waits on these: both releases' nodes at once
    const [greenNodes, blueNodes] = patched(NODES_AT_ONCE)
      ? await Promise.all([nodesOf(ctx, ctx.green.name), nodesOf(ctx, ctx.blue.name)])
      : [await nodesOf(ctx, ctx.green.name), await nodesOf(ctx, ctx.blue.name)];
    ctx.learn({ greenNodes, blueNodes });
    ctx.report('greenNodes', greenNodes);
    ctx.report('blueNodes', blueNodes);
    // Ready pods are not enough: a node that never joins must never get traffic (emqx-operator #941).
    ctx.waitingFor(`green nodes to join the cluster: ${greenNodes.join(', ')}`);
    await callActivity(ctx.longWaits<Acts>().waitClusterJoined, `wait until ${greenNodes.length} green nodes joined the cluster`, { target, nodes: greenNodes });
  },

  verify: {
    run: async (ctx) => {
      const { blueNodes, greenNodes, joinedHealth } = ctx.facts;
      const expect = { target: ctx.input.target, expectNodes: [...blueNodes, ...greenNodes] };
      // waitReady's reading stands unless a ready report was waited for since, or it saw a node not running (read again until it runs).
      const fresh = joinedHealth?.healthy && !ctx.input.options.waitForReadyReport ? joinedHealth : undefined;
      const health = fresh
        ? fresh
        : patched(MEMBERSHIP_REREAD)
          ? await callActivity(ctx.activities<Acts>().healthyCluster, 'check the whole cluster is healthy (read again until it is)', expect)
          : await callActivity(ctx.activities<Acts>().clusterHealth, 'check the whole cluster is healthy', expect);
      ctx.report('clusterHealth', health);
      if (!health.healthy) {
        const bad = health.nodes.filter((n) => n.status !== 'running' || !n.member).map((n) => `${n.node} ${n.status}`);
        throw ApplicationFailure.nonRetryable(`cluster unhealthy: ${bad.join(', ')}`, 'Unhealthy');
      }
    },
  },

  drainBlue: {
    run: async (ctx) => {
      const { target } = ctx.input;
      const settings = ctx.input.settings.emqx;
      const legacyDrain = !patched(BLUE_STANDS_BY);
      ctx.learn({ legacyDrain, scaleDuringDrain: legacyDrain || settings.scaleDownDuringDrain });
      ctx.waitingFor(`initial delay of ${formatDuration(settings.initialDelayMs)} before draining blue`);
      await sleep(settings.initialDelayMs, { summary: 'initial delay before evacuation' });
      const { blueNodes, greenNodes } = ctx.facts;
      const health = await callActivity(ctx.activities<Acts>().clusterHealth, 'order blue nodes for draining', { target, expectNodes: blueNodes });
      const order = drainOrder(health.nodes.filter((n) => blueNodes.includes(n.node)));
      if (ctx.facts.drainMode === 'pod-removal') reportDrainMode(ctx);
      for (const node of order) {
        if (ctx.facts.drainMode === 'evacuation') {
          try {
            await evacuate(ctx, node, greenNodes);
          } catch (err) {
            if (!isUnavailable(err)) throw err;
            ctx.learn({ drainMode: 'pod-removal' });
            reportDrainMode(ctx);
          }
        }
        if (ctx.facts.drainMode === 'evacuation') {
          ctx.waitingFor(`takeover window of ${formatDuration(settings.waitTakeoverMs)} after evacuating ${node}`);
          await sleep(settings.waitTakeoverMs, { summary: `wait takeover after ${node}` });
        }
        // By default blue stands by whole (every node prohibiting, serving nobody), so a rollback has it at once.
        if (!ctx.facts.scaleDuringDrain) {
          if (ctx.facts.drainMode === 'pod-removal') return;
          continue;
        }
        await removeBlueNode(ctx, node);
        if (ctx.facts.drainMode === 'pod-removal') {
          ctx.waitingFor(`drain interval after removing ${node}`);
          await sleep(settings.drainIntervalMs, { summary: `drain interval after ${node}` });
        }
      }
    },
    undo: async (ctx) => {
      const { target } = ctx.input;
      const { legacyDrain, scaleDuringDrain, blueNodes, blueReplicas } = ctx.facts;
      // Blue takes clients again as soon as its evacuations stop: all at once, before anything slower.
      const stop = (node: string) => callActivity(ctx.activities<Acts>().stopEvacuation, `stop any evacuation of ${node}`, { target, node });
      const stopAll = async (nodes: string[]): Promise<void> => {
        if (!legacyDrain) await Promise.all(nodes.map(stop));
        else for (const node of nodes) await stop(node);
      };
      const health = await callActivity(ctx.activities<Acts>().clusterHealth, 'which blue nodes still run', { target, expectNodes: blueNodes });
      // a node missing from the list may run (its info RPC failed): stopping an evacuation that is not there is harmless
      const maybeRunning = patched(MEMBERSHIP_REREAD) ? (n: NodeHealth) => n.status !== 'stopped' : (n: NodeHealth) => n.status === 'running';
      await stopAll(health.nodes.filter(maybeRunning).map((n) => n.node));
      // Blue stood by whole: nothing to bring back. Scaled during the drain: its pods must start and rejoin first.
      if (!scaleDuringDrain) return;
      const scaled = await callActivity(ctx.activities<Acts>().scaleWorkload, `scale ${ctx.blue.name} back to ${blueReplicas}`, {
        target,
        release: ctx.blue.name,
        replicas: blueReplicas,
        owner: ctx.owner,
      });
      ctx.learn({ blueRunning: blueReplicas });
      if (scaled.changed || legacyDrain) {
        await callActivity(ctx.longWaits<Acts>().waitWorkloadReady, `wait for ${ctx.blue.name} pods to be ready`, { target, release: ctx.blue.name });
        // A restarted node resumes its evacuation (EMQX keeps that state): stop it again now that it runs.
        await stopAll(blueNodes);
        await callActivity(ctx.longWaits<Acts>().waitClusterJoined, 'wait until blue nodes rejoined', { target, nodes: blueNodes });
      }
    },
  },

  /** One node at a time, as a StatefulSet scales down; evacuated nodes serve nobody, others get drainInterval to lose their clients. */
  async cleanUpBlue(ctx, remove) {
    const { blueNodes } = ctx.facts;
    while (ctx.facts.blueRunning > 0) {
      const running = ctx.facts.blueRunning;
      await removeBlueNode(ctx, blueNodes[running - 1] ?? `${ctx.blue.name}-${running - 1}`);
      if (ctx.facts.drainMode === 'pod-removal' && ctx.facts.blueRunning > 0) {
        ctx.waitingFor('drain interval before removing the next blue node');
        await sleep(ctx.input.settings.emqx.drainIntervalMs, { summary: 'drain interval between blue nodes' });
      }
    }
    await remove();
    await forget(ctx, blueNodes);
  },
};
