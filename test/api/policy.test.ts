/**
 * A target's policy through the API on the dev server: with the shipped
 * cutover.config.yaml every way around the configuration's approvals is
 * refused for an operator (403 naming the option and the policy field); the
 * approval rules at every gate (promote, a traffic step, finalize) through
 * the real workflow; the policy in force when an upgrade started keeps
 * deciding its approvals after the config file changes.
 */
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadConfig, type Config } from '../../src/config/file';
import type { PolicyInput } from '../../src/config/policy';
import { upgradeWorkflowId, type UpgradeInput } from '../../src/domain/upgrade';
import { approveSignal } from '../../src/workflows/messages';
import { scriptedSuite } from '../support/scriptedSuite';
import { eventually } from '../support/temporal';
import { call, makeTargets, testConfig, testServer } from './harness';

const suite = scriptedSuite('policy');

describe('the shipped configuration refuses every bypass of an operator (403)', () => {
  const shipped = loadConfig({ CUTOVER_CONFIG: resolve(__dirname, '../../cutover.config.yaml') });
  const operator = shipped.auth.principals.find((p) => p.principal === 'operator')!.token;
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testServer(suite.env.client, shipped);
  });
  afterAll(() => app?.close());

  const check = { name: 'mine', provider: 'http', url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', successCondition: 'result == 200' };
  test.each<[string, string, object, string, RegExp]>([
    ['approval auto', 'orders-mqtt', { options: { approval: 'auto' } }, 'options.approval', /policy\.options\.approval: tighten\): auto skips the approval the configuration asks for \(manual\)$/],
    ['no gate at all', 'orders-mqtt', { options: { approveBefore: [] } }, 'options.approveBefore', /policy\.options\.approveBefore: tighten\): drops the approval before promote that the configuration asks for$/],
    ['an auto-promotion after 1s', 'orders-mqtt', { options: { gates: { promote: { autoPromoteAfter: '1s' } } } }, 'options.gates.promote.autoPromoteAfter', /approves the promote gate by itself after 1s: the configuration waits for a person there$/],
    ['the old auto-promotion option', 'orders-mqtt', { options: { autoPromoteAfter: '1s' } }, 'options.autoPromoteAfter', /policy\.options\.autoPromoteAfter: tighten\)/],
    ["Kong's gate before finish removed", 'edge-gateway', { options: { approveBefore: [] } }, 'options.approveBefore', /drops the approval before finalize that the configuration asks for$/],
    ["Kong's gate before finish swapped for one before promote", 'edge-gateway', { options: { approveBefore: ['promote'] } }, 'options.approveBefore', /drops the approval before finalize/],
    ["Kong's analysed traffic plan replaced", 'edge-gateway', { options: { traffic: 'all-at-once' } }, 'options.traffic', /replaces the configuration's plan of 3 steps/],
    ['an image of another registry', 'orders-mqtt', { image: 'evil.example.com/emqx/emqx:5.8.0' }, 'image', /\(policy\.images: none: green takes blue's repository, tagged with the version\): evil\.example\.com\/emqx\/emqx is not an allowed repository$/],
    ['a check of its own', 'orders-mqtt', { options: { analysis: [check], verifyAnalysis: ['mine'] } }, 'options.analysis', /\(policy\.options\.analysis: deny\): a request may not set it$/],
  ])('%s', async (_name, target, extra, field, message) => {
    const kind = shipped.targets.find((t) => t.name === target)!.kind;
    const version = kind === 'kong' ? '3.9.0' : '5.8.0';
    const res = await app.inject({ method: 'POST', url: '/v1/upgrades', headers: { authorization: `Bearer ${operator}` }, payload: { kind, target, version, ...extra } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: { status: 403, code: 'FORBIDDEN', field, message: expect.stringMatching(new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')} is forbidden by the policy of target ${target} \\(`)) } });
    expect(res.json().error.message).toMatch(message);
  });
});

describe('approval rules at every gate, through the real workflow', () => {
  const { names: T, targets } = makeTargets({ gates: 'emqx', cli: 'emqx', later: 'emqx' });
  const fourEyes: PolicyInput = {
    standbyWindow: { min: '0s' },
    approvals: {
      promote: { requireDistinctApprover: true },
      trafficStep: { requireDistinctApprover: true },
      finalize: { roles: ['release-manager'], requireDistinctApprover: true },
    },
  };
  /** The harness's principals and a release manager who may approve too. */
  const withReleaseManager = (config: Config): Config => ({
    ...config,
    auth: { principals: [...config.auth.principals, { principal: 'rm', roles: ['approver', 'release-manager'], token: 'release-manager-token-for-tests', tokenSource: 'env' }] },
  });
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testServer(suite.env.client, withReleaseManager(testConfig(targets, suite.taskQueue, fourEyes)));
  });
  afterAll(() => app?.close());

  const approve = (server: FastifyInstance, id: string, as: 'approver' | 'lead' | 'rm') =>
    as === 'rm'
      ? server.inject({ method: 'POST', url: `/v1/upgrades/${id}/approve`, headers: { authorization: 'Bearer release-manager-token-for-tests' }, payload: { reason: 'looks good' } }).then((r) => ({ status: r.statusCode, json: r.json() }))
      : call(server, 'POST', `/v1/upgrades/${id}/approve`, { as, body: { reason: 'looks good' } });
  const state = async (id: string) => (await call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
  const waitsAt = (id: string, gate: string) => eventually(async () => {
    const s = await state(id);
    return s.status === 'AWAITING_APPROVAL' && s.approval.gate === gate;
  });
  const start = async (target: string) => {
    const options = { approval: 'manual', approveBefore: ['promote', 'finalize'], traffic: [{ weight: 50, approve: true }, { weight: 100 }] };
    const res = await call(app, 'POST', '/v1/upgrades', { as: 'lead', body: { kind: 'emqx', target, version: '5.8.0', options } });
    expect(res.status).toBe(201);
    return res.json.id as string;
  };

  test('four-eyes at promote, at a traffic step and at finalize; finalize only for its role', async () => {
    const id = await start(T.gates);
    for (const gate of ['promote', 'trafficStep']) {
      await waitsAt(id, gate);
      const own = await approve(app, id, 'lead');
      expect(own.status).toBe(403);
      expect(own.json.error.message).toBe(`cannot approve ${id}: lead requested this upgrade and cannot also approve it: the ${gate} gate requires a distinct approver`);
      expect((await approve(app, id, 'approver')).status).toBe(200);
    }
    await waitsAt(id, 'finalize');
    expect((await approve(app, id, 'lead')).json.error.message).toContain('lead requested this upgrade and cannot also approve it: the finalize gate requires a distinct approver');
    const approver = await approve(app, id, 'approver');
    expect(approver.status).toBe(403);
    expect(approver.json.error.message).toBe(`cannot approve ${id}: approving at the finalize gate needs the role release-manager; approver has approver`);
    expect((await approve(app, id, 'rm')).status).toBe(200);
    await eventually(async () => (await state(id)).status === 'SUCCEEDED');
    const approvals = (await state(id)).transitions.filter((t: { why: string }) => t.why.startsWith('approved:')).map((t: { by: string }) => t.by);
    expect(approvals).toEqual(['approver', 'approver', 'rm']);
  });

  test("a signal from the Temporal CLI is neither signed nor carries roles: its approval is refused and recorded with the real identity, the gate still waits", async () => {
    const id = await start(T.cli);
    await waitsAt(id, 'promote');
    await suite.env.client.workflow.getHandle(upgradeWorkflowId(T.cli)).signal(approveSignal, { by: 'approver', reason: 'from the CLI' });
    await eventually(async () => (await state(id)).transitions.some((t: { why: string }) => t.why.startsWith('approve refused')));
    const s = await state(id);
    expect(s.transitions.at(-1)).toMatchObject({ what: 'signal', by: expect.stringMatching(/^temporal:/), why: 'approve refused: not signed by the API: approvals are taken only through the API (claimed by approver)' });
    expect(s.status).toBe('AWAITING_APPROVAL');
    expect((await call(app, 'POST', `/v1/upgrades/${id}/rollback`, { as: 'operator', body: { reason: 'done' } })).status).toBe(200);
  });

  test('a policy changed after the start does not change a running upgrade: its input keeps the policy it started with', async () => {
    const id = await start(T.later);
    await waitsAt(id, 'promote');
    // the file now lets only release managers approve anywhere, and an approver no more
    const stricter = withReleaseManager(testConfig(targets, suite.taskQueue, { approvals: { promote: { roles: ['release-manager'] }, trafficStep: { roles: ['release-manager'] } } }));
    const later = await testServer(suite.env.client, stricter);
    try {
      expect((await approve(later, id, 'approver')).status).toBe(200);
      await waitsAt(id, 'trafficStep');
      expect((await approve(later, id, 'approver')).status).toBe(200);
      await waitsAt(id, 'finalize');
      expect((await approve(later, id, 'approver')).json.error.message).toContain('needs the role release-manager');
      expect((await approve(later, id, 'rm')).status).toBe(200);
    } finally {
      await later.close();
    }
    const history = await suite.env.client.workflow.getHandle(upgradeWorkflowId(T.later)).fetchHistory();
    const attrs = history.events![0].workflowExecutionStartedEventAttributes!;
    const input = defaultPayloadConverter.fromPayload<UpgradeInput>(attrs.input!.payloads![0]);
    expect(input.policy?.approvals).toEqual({
      promote: { roles: ['approver'], requireDistinctApprover: true },
      trafficStep: { roles: ['approver'], requireDistinctApprover: true },
      finalize: { roles: ['release-manager'], requireDistinctApprover: true },
    });
    await eventually(async () => (await state(id)).status === 'SUCCEEDED');
  });
});
