/**
 * Every bound of a start request, as a table through the API on the dev
 * server: the largest accepted value of each option (201) and the first
 * refused one, with the answer: 400 past a bound of the service, 403 past one
 * of the target's policy. Every list and every duration of the options has a
 * bound. Accepted upgrades start on a task queue no worker polls and are
 * terminated at once.
 */
import type { TSchema } from '@sinclair/typebox';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildServer } from '../../src/api/server';
import { durationProblems } from '../../src/config/bounds';
import type { Config } from '../../src/config/file';
import { UpgradeOptionsInput } from '../../src/config/options';
import { BUILTIN_POLICY, type PolicyInput } from '../../src/config/policy';
import { DURATION_PATTERN } from '../../src/domain/duration';
import { upgradeWorkflowId } from '../../src/domain/upgrade';
import { connectSharedServer, uniqueId } from '../support/temporal';
import { TEST_LIMITS } from './harness';
import { TEST_STEERING_KEYS } from '../support/steering';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await connectSharedServer();
});
afterAll(() => env?.teardown());

const TOKEN = 'bounds-operator-token-000';

function config(target: string, policy: PolicyInput = {}): Config {
  return {
    env: { temporal: { namespace: 'default', taskQueue: uniqueId('no-worker'), connection: {} }, api: { host: '127.0.0.1', port: 0, limits: TEST_LIMITS }, configPath: 'test', logLevel: 'silent', steeringKeys: {} },
    file: 'test',
    targets: [
      {
        name: target,
        kind: 'emqx',
        emqx: { apiUrl: 'http://emqx.test:18083', apiKey: { env: 'K' }, apiSecret: { env: 'S' } },
        kubernetes: { namespace: 'mqtt', workload: { kind: 'StatefulSet', name: 'emqx' }, service: 'emqx' },
      },
    ],
    auth: { principals: [{ principal: 'operator', roles: ['operator'], token: TOKEN, tokenSource: 'env' }] },
    defaults: {},
    // every option open to requests: only the bounds answer
    policy: {
      options: Object.fromEntries(Object.keys(BUILTIN_POLICY.options).map((k) => [k, 'allow'])),
      standbyWindow: { min: '0s' },
      httpHosts: ['*.shop.svc'],
      images: ['registry.example.com/**'],
      approvals: { finalize: { requireDistinctApprover: true } },
      ...policy,
    },
    analysis: [],
    steering: TEST_STEERING_KEYS,
  };
}

/** What POST /v1/upgrades answers: accepted (201, the upgrade then terminated), or the status and field. */
async function answer(body: Record<string, unknown>, policy?: PolicyInput): Promise<string> {
  const target = uniqueId('bounds');
  const app = await buildServer({ client: env.client, config: config(target, policy) });
  try {
    const res = await app.inject({ method: 'POST', url: '/v1/upgrades', headers: { authorization: `Bearer ${TOKEN}` }, payload: { kind: 'emqx', target, version: '5.8.0', ...body } });
    if (res.statusCode !== 201) return `${res.statusCode} ${res.json().error.field}`;
    await env.client.workflow.getHandle(upgradeWorkflowId(target)).terminate('bounds test: accepted is all it needed to know');
    return 'accepted';
  } finally {
    await app.close();
  }
}

const check = (over: object = {}, name = 'error-rate') => ({ name, provider: 'prometheus', query: 'up', successCondition: 'result < 0.05', ...over });
const steps = (n: number, step: object = {}) => Array.from({ length: n }, (_, i) => ({ weight: Math.round(((i + 1) * 100) / n), ...step }));
const names = (n: number) => Array.from({ length: n }, () => 'error-rate');

// [option, the largest accepted, the first refused, the answer to it, the policy (if not the open one)]
const BOUNDS: [string, Record<string, unknown>, Record<string, unknown>, string, PolicyInput?][] = [
  ['standbyWindow', { options: { standbyWindow: '30d' } }, { options: { standbyWindow: '30d1ms' } }, '400 options.standbyWindow'],
  ['standbyWindow of 100000000d', { options: { standbyWindow: '30d' } }, { options: { standbyWindow: '100000000d' } }, '400 options.standbyWindow'],
  ['a duration of 400 digits', { options: { standbyWindow: '30d' } }, { options: { standbyWindow: `${'9'.repeat(400)}ms` } }, '400 options.standbyWindow'],
  ['stepTimeouts.<step>', { options: { stepTimeouts: { waitReady: '30d' } } }, { options: { stepTimeouts: { waitReady: '31d' } } }, '400 options.stepTimeouts.waitReady'],
  ['stepTimeouts.standBy above the window', { options: { standbyWindow: '1h', stepTimeouts: { standBy: '1h1ms' } } }, { options: { standbyWindow: '1h', stepTimeouts: { standBy: '1h' } } }, '400 options.stepTimeouts.standBy'],
  ['autoPromoteAfter', { options: { autoPromoteAfter: '30d' } }, { options: { autoPromoteAfter: '31d' } }, '400 options.autoPromoteAfter'],
  ['gates.<gate>.timeout', { options: { gates: { promote: { timeout: '30d' } } } }, { options: { gates: { promote: { timeout: '31d' } } } }, '400 options.gates.promote.timeout'],
  ['rollbackTimeout', { options: { rollbackTimeout: '30d' } }, { options: { rollbackTimeout: '31d' } }, '400 options.rollbackTimeout'],
  ['maxAttempts', { options: { maxAttempts: 100 } }, { options: { maxAttempts: 101 } }, '400 options.maxAttempts'],
  ['traffic steps', { options: { traffic: steps(100) } }, { options: { traffic: [...steps(100), { weight: 100 }] } }, '400 options.traffic'],
  ['traffic[].pause', { options: { traffic: steps(1, { pause: '30d' }) } }, { options: { traffic: steps(1, { pause: '31d' }) } }, '400 options.traffic[0].pause'],
  ['traffic[].analysis', { options: { analysis: [check()], traffic: steps(1, { analysis: names(20) }) } }, { options: { analysis: [check()], traffic: steps(1, { analysis: names(21) }) } }, '400 options.traffic[0].analysis'],
  ['analysis (checks of the request)', { options: { analysis: Array.from({ length: 50 }, (_, i) => check({}, `c${i}`)) } }, { options: { analysis: Array.from({ length: 51 }, (_, i) => check({}, `c${i}`)) } }, '400 options.analysis'],
  ['analysis[].count', { options: { analysis: [check({ interval: '1s', count: 1000 })] } }, { options: { analysis: [check({ interval: '1s', count: 1001 })] } }, '400 options.analysis[0].count'],
  ['analysis[]: initialDelay + interval × count', { options: { analysis: [check({ interval: '43m', count: 1000, initialDelay: '3h' })] } }, { options: { analysis: [check({ interval: '44m', count: 1000 })] } }, '400 options.analysis[0].count'],
  ['analysis[].initialDelay', { options: { analysis: [check({ initialDelay: '30d' })] } }, { options: { analysis: [check({ initialDelay: '31d' })] } }, '400 options.analysis[0].initialDelay'],
  ['analysis[].query', { options: { analysis: [check({ query: 'u'.repeat(4096) })] } }, { options: { analysis: [check({ query: 'u'.repeat(4097) })] } }, '400 options.analysis[0].query'],
  ['verifyAnalysis', { options: { analysis: [check()], verifyAnalysis: names(20) } }, { options: { analysis: [check()], verifyAnalysis: names(21) } }, '400 options.verifyAnalysis'],
  ['approveBefore', { options: { approveBefore: ['promote', 'finalize'] } }, { options: { approveBefore: ['promote', 'promote'] } }, '400 options.approveBefore'],
  ["a kind's duration (emqx.waitTakeover)", { options: { emqx: { waitTakeover: '30d' } } }, { options: { emqx: { waitTakeover: '31d' } } }, '400 options.emqx.waitTakeover'],
  ['emqx.connEvictRate', { options: { emqx: { connEvictRate: 100_000 } } }, { options: { emqx: { connEvictRate: 100_001 } } }, '400 options.emqx.connEvictRate'],
  ['reason', { reason: 'r'.repeat(500) }, { reason: 'r'.repeat(501) }, '400 reason'],
  ['image', { image: `registry.example.com/${'i'.repeat(234)}` }, { image: `registry.example.com/${'i'.repeat(235)}` }, '400 image'],
  ['version', { version: `5.8.${'0'.repeat(60)}` }, { version: `5.8.${'0'.repeat(61)}` }, '400 version'],
  [
    'the worst-case history (the budget)',
    { options: { analysis: [check()], traffic: steps(100, { analysis: names(1) }) } },
    { options: { analysis: [check()], traffic: steps(100, { analysis: names(20) }) } },
    '400 options',
  ],
  // the policy's own bounds
  ['policy.maxDuration', { options: { rollbackTimeout: '7d' } }, { options: { rollbackTimeout: '7d1ms' } }, '403 options.rollbackTimeout', { maxDuration: '7d' }],
  ['policy.standbyWindow.min', { options: { standbyWindow: '1m' } }, { options: { standbyWindow: '59s' } }, '403 options.standbyWindow', { standbyWindow: { min: '1m', max: '1d' } }],
  ['policy.standbyWindow.max', { options: { standbyWindow: '1d' } }, { options: { standbyWindow: '1d1ms' } }, '403 options.standbyWindow', { standbyWindow: { min: '1m', max: '1d' } }],
  ['policy.images', { image: 'registry.example.com/emqx/emqx:5.8.0' }, { image: 'registry.example.org/emqx/emqx:5.8.0' }, '403 image'],
  [
    'policy.httpHosts (placeholders filled in)',
    { options: { analysis: [check({ provider: 'http', query: undefined, url: 'http://{{green}}.shop.svc:8080/healthz' })], verifyAnalysis: ['error-rate'] } },
    { options: { analysis: [check({ provider: 'http', query: undefined, url: 'http://169.254.169.254/latest/meta-data/' })], verifyAnalysis: ['error-rate'] } },
    '403 options.verifyAnalysis[0]',
  ],
  [
    'policy.approvals.finalize.requireDistinctApprover: no auto-promotion',
    { options: { approveBefore: ['finalize'], gates: { finalize: { timeout: '1h' } } } },
    { options: { approveBefore: ['finalize'], gates: { finalize: { autoPromoteAfter: '10m' } } } },
    '403 options.gates.finalize.autoPromoteAfter',
  ],
];

// rest parameters: a test function with more parameters than a row has values would wait for a done callback
test.each(BOUNDS)('%s', async (...[, largest, refused, status, policy]) => {
  expect(await answer(largest, policy)).toBe('accepted');
  expect(await answer(refused, policy)).toBe(status);
});

describe('nothing in the options escapes a bound', () => {
  interface Node {
    type?: string;
    pattern?: string;
    maxItems?: number;
    properties?: Record<string, Node>;
    items?: Node;
    anyOf?: Node[];
  }
  const walk = (s: Node, path: string, visit: (s: Node, path: string) => void): void => {
    visit(s, path);
    for (const branch of s.anyOf ?? []) walk(branch, path, visit);
    if (s.items) walk(s.items, `${path}[]`, visit);
    for (const [k, child] of Object.entries(s.properties ?? {})) walk(child, `${path}.${k}`, visit);
  };

  test('every list has a maximum length', () => {
    const unbounded: string[] = [];
    walk(UpgradeOptionsInput as TSchema as Node, 'options', (s, path) => s.type === 'array' && s.maxItems === undefined && unbounded.push(path));
    expect(unbounded).toEqual([]);
  });

  test('every duration of the schema, whatever option or kind it belongs to, is held to 30 days', () => {
    const durations: string[] = [];
    walk(UpgradeOptionsInput as TSchema as Node, 'options', (s, path) => s.pattern === DURATION_PATTERN && durations.push(path));
    expect(durations).toEqual(expect.arrayContaining(['options.standbyWindow', 'options.traffic[].pause', 'options.analysis[].interval', 'options.emqx.waitTakeover', 'options.projection.stallTimeout']));
    for (const path of durations) {
      // an options object with only this duration, 31 days long
      const value: Record<string, unknown> = {};
      let at: Record<string, unknown> = value;
      const parts = path.split('.').slice(1);
      parts.forEach((part, i) => {
        const [key, list] = [part.replace('[]', ''), part.endsWith('[]')];
        const next = i === parts.length - 1 ? '31d' : {};
        at[key] = list ? [next] : next;
        at = next as Record<string, unknown>;
      });
      expect(durationProblems(UpgradeOptionsInput, value, '30d', 'options')).toEqual([{ field: path.replace(/\[\]/g, '[0]'), message: 'must be at most 30d (it is 31d)' }]);
    }
  });
});
