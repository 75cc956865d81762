/** The Kong kind's support matrix at the API: a version to upgrade to outside Kong 3.4 to 3.9 is a 400 on field version, before anything starts. */
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { upgradeWorkflowId } from '../../src/domain/upgrade';
import { connectSharedServer, uniqueId } from '../support/temporal';
import { call, makeTargets, testConfig, testServer } from './harness';

let env: TestWorkflowEnvironment;
let app: FastifyInstance;
// No worker: a refused request must never reach one.
const { names, targets } = makeTargets({ gateway: 'kong' });

beforeAll(async () => {
  env = await connectSharedServer();
  app = await testServer(env.client, testConfig(targets, uniqueId('kong-version')));
});
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

const start = (version: string) => call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'kong', target: names.gateway, version } });

test.each([
  ['3.2.2', 'version 3.2.2 is older than what cutover supports, Kong 3.4 (LTS) to 3.9: Kong 3.2.2 has no GET /status/ready (Kong 3.3 and later), by which cutover tells that a node is ready; upgrade to Kong 3.4 or later'],
  ['3.10.0', /^version 3\.10\.0 is newer than what cutover supports, Kong 3\.4 \(LTS\) to 3\.9: .*; upgrade to a 3\.9\.x release$/],
])('Kong %s: 400 on field version, naming the version, what it lacks and what to do', async (version, message) => {
  const res = await start(version);
  expect(res.status).toBe(400);
  expect(res.json).toEqual({ error: { status: 400, code: expect.any(String), field: 'version', message: typeof message === 'string' ? message : expect.stringMatching(message) } });
  // nothing started
  await expect(env.client.workflow.getHandle(upgradeWorkflowId(names.gateway)).describe()).rejects.toThrow(/not found/i);
});
