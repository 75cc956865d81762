/**
 * What the API's request log says, and at which level: a person's reads and
 * a service's phase polls (404 included, while no upgrade names its release)
 * at debug, so an idle npm start stays quiet; refusals and a person's writes
 * at info; failures at error. One line per request.
 */
import { Writable } from 'node:stream';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildServer } from '../../src/api/server';
import { requestLevel } from '../../src/api/requestLog';
import { connectSharedServer, uniqueId } from '../support/temporal';
import { call, makeTargets, testConfig } from './harness';

let env: TestWorkflowEnvironment;
let app: FastifyInstance;
const lines: { level: number; msg: string; status?: number; principal?: string }[] = [];
const { names: T, targets } = makeTargets({ quiet: 'projection' });

beforeAll(async () => {
  env = await connectSharedServer();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  app = await buildServer({ client: env.client, config: testConfig(targets, uniqueId('reqlog')), logger: pino({ level: 'debug' }, sink) });
});
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

const DEBUG = 20;
const INFO = 30;

test('reads and service polls at debug, refusals and writes at info, one line each', async () => {
  lines.length = 0;
  await call(app, 'GET', '/v1/targets', { as: 'viewer' });
  await call(app, 'GET', `/v1/targets/${T.quiet}/releases/${T.quiet}-1-0-0/phase`, { as: { service: T.quiet } });
  await call(app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: T.quiet } });
  await call(app, 'GET', '/v1/targets', { as: undefined });
  const requests = lines.filter((l) => l.status !== undefined);
  expect(requests.map((l) => [l.msg, l.level])).toEqual([
    ['GET /v1/targets 200', DEBUG],
    [`GET /v1/targets/${T.quiet}/releases/${T.quiet}-1-0-0/phase 404`, DEBUG],
    ['POST /v1/upgrades 400', INFO],
    ['GET /v1/targets 401', INFO],
  ]);
  expect(requests[0].principal).toBe('viewer');
  // Fastify's own "incoming request" and "request completed" lines are gone
  expect(lines.filter((l) => /incoming request|request completed/.test(l.msg))).toEqual([]);
});

test.each([
  ['GET', 200, false, 'debug'],
  ['GET', 503, false, 'error'],
  ['GET', 404, true, 'debug'],
  ['GET', 401, true, 'info'],
  ['POST', 200, false, 'info'],
  ['POST', 200, true, 'debug'],
  ['POST', 409, false, 'info'],
] as const)('%s answered %i (service route: %s) is logged at %s', (method, status, service, level) => {
  expect(requestLevel(method, status, service)).toBe(level);
});
