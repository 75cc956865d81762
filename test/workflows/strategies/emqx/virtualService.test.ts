/**
 * An EMQX upgrade whose traffic moves through an Istio VirtualService, end
 * to end: the shipped workflow on the dev server, the real activities with
 * the shipped Role's rights only, the suite's control plane with Istio's own
 * VirtualService CRD (networking.istio.io/v1, from istio.io/api) and its
 * EMQX API server. What a user would notice: the weighted traffic plan's
 * weights written to the VirtualService's routes step by step, each one read
 * back from it as setWeights' result in the history, and a rollback putting
 * all of it back on blue; without the Role's rights on virtualservices,
 * nothing changes at all.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { V1PolicyRule } from '@kubernetes/client-node';
import type { VirtualServiceRouter } from '../../../../src/config/routers';
import { releaseName, upgradeWorkflowId, type UpgradeState } from '../../../../src/domain/upgrade';
import { rollbackSignal, stateQuery } from '../../../../src/workflows/messages';
import { EmqxOnKube, FAST_DRAIN } from '../../../support/emqxOnKube';
import type { IstioRoute } from '../../../support/kube';
import { applyForCutover, shippedManifests } from '../../../support/shippedRbac';
import { eventually, sharedServerForFile, startWorker, uniqueId, upgradeInput } from '../../../support/temporal';

const file = sharedServerForFile();
const { cleanups } = file;

/**
 * EMQX as a mesh user runs it: MQTT over TCP and MQTT over WebSocket routed
 * by the VirtualService `emqx` to the Service `emqx`, its dashboard by a
 * route of its own that the target does not name; the worker with the
 * shipped Role's token, the target's router the VirtualService's
 * `mqtt-ws` and tcp routes.
 */
async function mesh(role?: (rules: V1PolicyRule[]) => V1PolicyRule[]): Promise<{ sys: EmqxOnKube; start: (traffic: { weight: number; approve?: boolean }[]) => Promise<WorkflowHandle> }> {
  const sys = await EmqxOnKube.start(uniqueId('mesh'));
  cleanups.push(() => sys.close());
  await sys.ns.createVirtualService('emqx', {
    http: [
      { name: 'mqtt-ws', match: [{ uri: { prefix: '/mqtt' } }], route: [{ destination: { host: 'emqx', port: { number: 8083 } } }] },
      { name: 'dashboard', route: [{ destination: { host: 'emqx-dashboard', port: { number: 18083 } } }] },
    ],
    tcp: [{ match: [{ port: 1883 }], route: [{ destination: { host: 'emqx', port: { number: 1883 } } }] }],
  });
  const token = await applyForCutover(sys.ns, shippedManifests(sys.ns.name, role, 'rbac.yaml'));
  const router: VirtualServiceRouter = { type: 'virtualService', name: 'emqx', routes: ['mqtt-ws'] };
  const taskQueue = uniqueId('mesh');
  const w = await startWorker(file.env, taskQueue, sys.activities(file.env.client, { kubernetes: { ...sys.target.kubernetes, router } }, token), {
    workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! },
  });
  cleanups.push(() => w.stop());
  const start = (traffic: { weight: number; approve?: boolean }[]) => {
    const input = upgradeInput({
      kind: 'emqx',
      target: sys.target.name,
      version: '5.8.0',
      settings: { emqx: FAST_DRAIN }, options: { traffic: traffic.map((s) => ({ ...s, analysis: [] })) },
    });
    return file.env.client.workflow.start('blueGreenUpgrade', { taskQueue, workflowId: upgradeWorkflowId(input.target), args: [input] });
  };
  return { sys, start };
}

/** Each route's destinations as Service=weight, the tcp route under `tcp`. */
async function routes(sys: EmqxOnKube): Promise<Record<string, string[]>> {
  const { spec } = await sys.ns.virtualService('emqx');
  const named = (r: IstioRoute, name = r.name!) => [name, r.route.map((d) => `${d.destination.host}=${d.weight}`)];
  return Object.fromEntries([...(spec.http ?? []).map((r) => named(r)), ...(spec.tcp ?? []).map((r) => named(r, 'tcp'))]);
}

/** The weights cutover wrote to the VirtualService, one entry per write the API server took (the tcp route's, which every write sets). */
const writes = (sys: EmqxOnKube): string[][] =>
  sys
    .entries()
    .filter((e) => e.src === 'k8s' && /^PATCH .*\/virtualservices\/emqx$/.test(e.what) && (e.request?.status ?? 0) < 300)
    .map((e) => (e.body as { spec: { tcp: IstioRoute[] } }).spec.tcp[0]!.route.map((d) => `${d.destination.host}=${d.weight}`));

/** What each setWeights of the run answered: the shares the VirtualService served, read back after the write. */
async function served(h: WorkflowHandle): Promise<Record<string, number>[]> {
  const events = (await h.fetchHistory()).events!;
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'setWeights').map((e) => String(e.eventId)));
  return events
    .filter((e) => scheduled.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)))
    .map((e) => (defaultPayloadConverter.fromPayload(e.activityTaskCompletedEventAttributes!.result!.payloads![0]!) as { served: Record<string, number> }).served);
}

test('a weighted traffic plan through the VirtualService: 10, 50 (held for approval), then a rollback puts every route back on blue', async () => {
  const { sys, start } = await mesh();
  const blue = 'emqx';
  const green = releaseName(sys.target.name, '5.8.0');
  const h = await start([{ weight: 10 }, { weight: 50, approve: true }, { weight: 100 }]);
  const waiting = await eventually(async () => {
    const st = await h.query(stateQuery);
    return st.status === 'AWAITING_APPROVAL' && st;
  }, 120_000);
  expect(waiting.traffic).toEqual({ blue: 50, green: 50 });
  // both named routes split, each keeping its port; the route the target does not name stays the user's
  expect(await routes(sys)).toEqual({
    'mqtt-ws': [`cutover-${blue}=50`, `cutover-${green}=50`],
    dashboard: ['emqx-dashboard=undefined'],
    tcp: [`cutover-${blue}=50`, `cutover-${green}=50`],
  });
  expect((await sys.ns.virtualService('emqx')).spec.http![0]!.route.map((d) => d.destination.port?.number)).toEqual([8083, 8083]);
  // each release's Service selects its own pods only: blue's by its controller's revision, green's by its release label
  expect(await sys.ns.endpoints(`cutover-${blue}`)).toEqual(['emqx-0', 'emqx-1', 'emqx-2']);
  expect(await sys.ns.endpoints(`cutover-${green}`)).toEqual([0, 1, 2].map((i) => `${green}-${i}`));

  await h.signal(rollbackSignal, { by: 'bob', reason: 'error rate on the WebSocket listener' });
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('ROLLED_BACK');
  expect(writes(sys)).toEqual([
    [`cutover-${blue}=90`, `cutover-${green}=10`],
    [`cutover-${blue}=50`, `cutover-${green}=50`],
    [`cutover-${blue}=100`],
  ]);
  // every step verified: what the VirtualService served, read back, is what the step asked for
  expect(await served(h)).toEqual([{ [blue]: 90, [green]: 10 }, { [blue]: 50, [green]: 50 }, { [blue]: 100 }]);
  expect(await routes(sys)).toEqual({ 'mqtt-ws': [`cutover-${blue}=100`], dashboard: ['emqx-dashboard=undefined'], tcp: [`cutover-${blue}=100`] });
  // green and its Service gone with it; blue's stays, the VirtualService leads there
  await sys.ns.until(async () => !(await sys.ns.statefulSet(green)));
  const services = (await sys.ns.core.listNamespacedService({ namespace: sys.ns.name })).items.map((s) => s.metadata!.name);
  expect(services.sort()).toEqual(['cutover-emqx', 'emqx', 'emqx-headless'].sort());
}, 180_000);

test('the plan to its end: every route on green, blue and its Service removed after the standby window', async () => {
  const { sys, start } = await mesh();
  const green = releaseName(sys.target.name, '5.8.0');
  const h = await start([{ weight: 30 }, { weight: 100 }]);
  const final = (await h.result()) as UpgradeState;
  expect(final.status).toBe('SUCCEEDED');
  expect(await served(h)).toEqual([{ emqx: 70, [green]: 30 }, { [green]: 100 }]);
  expect(await routes(sys)).toEqual({ 'mqtt-ws': [`cutover-${green}=100`], dashboard: ['emqx-dashboard=undefined'], tcp: [`cutover-${green}=100`] });
  const services = (await sys.ns.core.listNamespacedService({ namespace: sys.ns.name })).items.map((s) => s.metadata!.name);
  expect(services.sort()).toEqual([`cutover-${green}`, 'emqx', 'emqx-headless'].sort());
}, 180_000);

test('without the Role\'s rights on virtualservices the upgrade stops at plan with a 403 naming them, and nothing changed', async () => {
  const { sys, start } = await mesh((rules) => rules.filter((r) => !r.resources?.includes('virtualservices')));
  const final = (await (await start([{ weight: 10 }, { weight: 100 }])).result()) as UpgradeState;
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure?.step).toBe('plan');
  expect(final.failure?.message).toContain('cannot get resource "virtualservices" in API group "networking.istio.io"');
  expect(sys.entries().filter((e) => e.src === 'k8s' && !/^GET /.test(e.what))).toEqual([]);
}, 120_000);
