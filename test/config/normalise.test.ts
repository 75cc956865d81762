/**
 * Requests to settings: every option of the skeleton and of each kind, as the
 * API's start path (src/api/upgradeInput.ts) makes a request into the
 * workflow's input through the normaliser: each option's default, a given
 * value and its unit, the layers' precedence (the kind's defaults, the file's,
 * the target's, the request), and the target's policy where it decides. Each
 * input is complete already: the workflow's own upcast changes nothing in it.
 */
import type { Config } from '../../src/config/file';
import type { UpgradeOptionsInput } from '../../src/config/options';
import type { PolicyInput } from '../../src/config/policy';
import type { TargetConfig } from '../../src/config/targets';
import { ApiError } from '../../src/api/errors';
import { upgradeInputFor } from '../../src/api/upgradeInput';
import type { AnalysisCheckInput } from '../../src/domain/analysis';
import type { Kind } from '../../src/domain/kindRegistry';
import type { UpgradeInput } from '../../src/domain/upgrade';
import { completeInput } from '../../src/domain/upgradeSettings';

const VERSIONS: Record<Kind, string> = { emqx: '5.8.0', kong: '3.9.0', projection: '2.0.0' };
const errorRate: AnalysisCheckInput = { name: 'error-rate', provider: 'prometheus', query: 'sum(rate(errors{release="{{green}}"}[1m]))', successCondition: 'result < 0.05' };

interface Layers {
  kind?: Kind;
  /** The config file's defaults, the target's, the request's options. */
  file?: UpgradeOptionsInput;
  target?: UpgradeOptionsInput;
  request?: UpgradeOptionsInput;
  /** The target's policy (over the built-in one). */
  policy?: PolicyInput;
}

function start({ kind = 'emqx', file = {}, target = {}, request, policy }: Layers): UpgradeInput {
  const name = `${kind}-orders`;
  const config = {
    targets: [{ name, kind, local: { cluster: name, ports: {} }, defaults: target, policy } as unknown as TargetConfig],
    defaults: file,
    analysis: [errorRate],
  } as unknown as Config;
  return upgradeInputFor(config, { kind, target: name, version: VERSIONS[kind], options: request }, 'alice');
}

function refusal(layers: Layers): { status: number; field?: string; message: string } {
  try {
    start(layers);
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, field: err.field, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ALL_AT_ONCE = [{ weight: 100, analysis: [] }];
const checkOf = (name: string, successCondition: string) => expect.objectContaining({ name, successCondition, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4, onInconclusive: 'pause' });

describe('every default, per kind', () => {
  const skeleton = {
    approval: 'manual',
    standbyWindowMs: 10 * MINUTE,
    stepTimeoutMs: {},
    maxAttempts: 3,
    requireDistinctApprover: false,
    traffic: ALL_AT_ONCE,
    verifyAnalysis: [],
    approveBefore: ['promote'],
    gates: { promote: {}, finalize: {} },
    waitForReadyReport: false,
    rollbackTimeoutMs: HOUR,
  };

  test('emqx: the skeleton built in, the EMQX Operator\'s drain', () => {
    expect(start({ kind: 'emqx' })).toMatchObject({
      options: skeleton,
      settings: {
        emqx: {
          drain: 'auto',
          connEvictRate: 1000,
          sessEvictRate: 1000,
          waitTakeoverMs: 10_000,
          waitHealthCheckMs: 10_000,
          initialDelayMs: 10_000,
          drainIntervalMs: 30_000,
          scaleDownDuringDrain: false,
        },
      },
    });
  });

  test("kong: its runbook's traffic plan under analysis and a gate before finish", () => {
    const input = start({ kind: 'kong' });
    const step = (weight: number) => ({ weight, pauseMs: 10_000, analysis: [checkOf('error-rate', 'result < 0.01'), checkOf('latency', 'result < 1000')] });
    expect(input.options).toEqual({ ...skeleton, traffic: [step(10), step(50), { weight: 100, analysis: [] }], approveBefore: ['finalize'] });
    expect(input.settings).toEqual({ kong: { finishPending: false, backup: true, smoke: [], drainTimeoutMs: 90_000 } });
  });

  test('projection: the service reports ready; the catch-up watched every 5s', () => {
    const input = start({ kind: 'projection' });
    expect(input.options).toEqual({ ...skeleton, waitForReadyReport: true });
    expect(input.settings).toEqual({ projection: { maxLag: 100, holdMs: 10_000, stallAfterMs: 30_000, stallTimeoutMs: 10 * MINUTE, pollMs: 5000 } });
  });
});

/** Policy that lets a request set what the built-in one keeps for the configuration (tighten). */
const ALLOW = { options: { approval: 'allow', autoPromoteAfter: 'allow', gates: 'allow', approveBefore: 'allow', traffic: 'allow', verifyAnalysis: 'allow', waitForReadyReport: 'allow', analysis: 'allow' } } as PolicyInput;

describe('each option of the skeleton: given, in milliseconds', () => {
  test.each<[string, Layers, object]>([
    ['approval auto: no gate', { request: { approval: 'auto' }, policy: ALLOW }, { approval: 'auto', approveBefore: [], gates: { promote: {}, finalize: {} } }],
    ['autoPromoteAfter: the gate before promote approves by itself', { request: { autoPromoteAfter: '1h30m' }, policy: ALLOW }, { approveBefore: ['promote'], gates: { promote: { autoPromoteAfterMs: 90 * MINUTE }, finalize: {} } }],
    ['autoPromoteAfter from the configuration with approval auto: no gate to wait at', { file: { autoPromoteAfter: '1h' }, request: { approval: 'auto' }, policy: ALLOW }, { approveBefore: [], gates: { promote: {}, finalize: {} } }],
    ['standbyWindow', { request: { standbyWindow: '1h30m' } }, { standbyWindowMs: 90 * MINUTE }],
    ['stepTimeouts, and stepTimeouts.gate as the promote gate\'s limit', { request: { stepTimeouts: { waitReady: '5m', gate: '8h' } } }, { stepTimeoutMs: { waitReady: 5 * MINUTE, gate: 8 * HOUR }, gates: { promote: { timeoutMs: 8 * HOUR }, finalize: {} } }],
    ['maxAttempts', { request: { maxAttempts: 7 } }, { maxAttempts: 7 }],
    ['traffic all-at-once, written', { request: { traffic: 'all-at-once' } }, { traffic: ALL_AT_ONCE }],
    [
      'traffic steps: a pause in milliseconds, checks of the file by name, an approval',
      { request: { traffic: [{ weight: 10, pause: '2m', analysis: ['error-rate'] }, { weight: 50, approve: true }, { weight: 100 }] } },
      { traffic: [{ weight: 10, pauseMs: 2 * MINUTE, analysis: [checkOf('error-rate', 'result < 0.05')] }, { weight: 50, analysis: [], approve: true }, { weight: 100, analysis: [] }] },
    ],
    [
      "analysis of the request's own, winning over the file's of the same name, durations in milliseconds",
      { request: { analysis: [{ ...errorRate, successCondition: 'result < 0.01', interval: '30s', count: 4, initialDelay: '1m' }], verifyAnalysis: ['error-rate'] }, policy: ALLOW },
      { verifyAnalysis: [expect.objectContaining({ name: 'error-rate', successCondition: 'result < 0.01', intervalMs: 30_000, count: 4, initialDelayMs: MINUTE })] },
    ],
    ['verifyAnalysis: checks of the file by name', { request: { verifyAnalysis: ['error-rate'] } }, { verifyAnalysis: [checkOf('error-rate', 'result < 0.05')] }],
    ['approveBefore', { request: { approveBefore: ['promote', 'finalize'] } }, { approveBefore: ['promote', 'finalize'] }],
    [
      "gates: each gate's auto-promotion and time limit",
      { request: { approveBefore: ['promote', 'finalize'], gates: { promote: { timeout: '3h' }, finalize: { autoPromoteAfter: '1h', timeout: '2h' } } }, policy: ALLOW },
      { gates: { promote: { timeoutMs: 3 * HOUR }, finalize: { autoPromoteAfterMs: HOUR, timeoutMs: 2 * HOUR } } },
    ],
    ['gates.promote over autoPromoteAfter', { request: { autoPromoteAfter: '1h', gates: { promote: { autoPromoteAfter: '2h' } } }, policy: ALLOW }, { gates: { promote: { autoPromoteAfterMs: 2 * HOUR }, finalize: {} } }],
    ['waitForReadyReport', { request: { waitForReadyReport: true } }, { waitForReadyReport: true }],
    ['rollbackTimeout', { request: { rollbackTimeout: '2h' } }, { rollbackTimeoutMs: 2 * HOUR }],
  ])('%s', (_name, layers, options) => {
    expect(start(layers).options).toMatchObject(options);
  });
});

describe("each kind's options: given, in milliseconds, the rest defaults", () => {
  test.each<[string, Layers, object]>([
    ['emqx: rates', { kind: 'emqx', request: { emqx: { connEvictRate: 50, sessEvictRate: 20 } } }, { connEvictRate: 50, sessEvictRate: 20, waitTakeoverMs: 10_000 }],
    [
      'emqx: the waits, to the millisecond',
      { kind: 'emqx', request: { emqx: { waitTakeover: '1500ms', waitHealthCheck: '2s', initialDelay: '1m', drainInterval: '45s' } } },
      { waitTakeoverMs: 1500, waitHealthCheckMs: 2000, initialDelayMs: MINUTE, drainIntervalMs: 45_000, connEvictRate: 1000 },
    ],
    ['emqx: drain', { kind: 'emqx', request: { emqx: { drain: 'pod-removal' } } }, { drain: 'pod-removal', scaleDownDuringDrain: false }],
    ['emqx: scaleDownDuringDrain', { kind: 'emqx', request: { emqx: { scaleDownDuringDrain: true } } }, { drain: 'auto', scaleDownDuringDrain: true }],
    ['kong: finishPending', { kind: 'kong', request: { kong: { finishPending: true } } }, { finishPending: true, backup: true }],
    ['kong: backup', { kind: 'kong', request: { kong: { backup: false } } }, { finishPending: false, backup: false }],
    [
      'kong: smoke, GET unless said',
      { kind: 'kong', request: { kong: { smoke: [{ path: '/health', status: 200 }, { method: 'HEAD', path: '/orders', status: 204 }] } } },
      { smoke: [{ method: 'GET', path: '/health', status: 200 }, { method: 'HEAD', path: '/orders', status: 204 }] },
    ],
    ['kong: drainTimeout', { kind: 'kong', request: { kong: { drainTimeout: '2m30s' } } }, { drainTimeoutMs: 150_000, smoke: [] }],
    ['projection: maxLag', { kind: 'projection', request: { projection: { maxLag: 0 } } }, { maxLag: 0, holdMs: 10_000 }],
    [
      'projection: hold, stallAfter, stallTimeout, poll',
      { kind: 'projection', request: { projection: { hold: '3s', stallAfter: '1m', stallTimeout: '1h', poll: '500ms' } } },
      { maxLag: 100, holdMs: 3000, stallAfterMs: MINUTE, stallTimeoutMs: HOUR, pollMs: 500 },
    ],
    ["another kind's block: not this upgrade's", { kind: 'emqx', request: { kong: { backup: false } } }, { connEvictRate: 1000 }],
  ])('%s', (_name, layers, settings) => {
    const input = start(layers);
    expect(input.settings).toEqual({ [input.kind]: expect.objectContaining(settings) });
  });
});

describe("the layers: the kind's defaults, the file's, the target's, the request, a later one winning field by field", () => {
  test.each<[string, Layers, object]>([
    ['standbyWindow: the request over the target over the file', { file: { standbyWindow: '20m' }, target: { standbyWindow: '15m' }, request: { standbyWindow: '12m' } }, { options: { standbyWindowMs: 12 * MINUTE } }],
    ['standbyWindow: the target over the file', { file: { standbyWindow: '20m' }, target: { standbyWindow: '15m' } }, { options: { standbyWindowMs: 15 * MINUTE } }],
    ['stepTimeouts: merged step by step', { file: { stepTimeouts: { waitReady: '5m', verify: '1m' } }, request: { stepTimeouts: { verify: '2m' } } }, { options: { stepTimeoutMs: { waitReady: 5 * MINUTE, verify: 2 * MINUTE } } }],
    [
      'gates: merged gate by gate',
      { file: { approveBefore: ['promote', 'finalize'], gates: { promote: { timeout: '1h' } } }, target: { gates: { finalize: { timeout: '2h' } } } },
      { options: { gates: { promote: { timeoutMs: HOUR }, finalize: { timeoutMs: 2 * HOUR } } } },
    ],
    [
      "a kind's block: merged key by key, then its defaults",
      { file: { emqx: { connEvictRate: 10, sessEvictRate: 20 } }, target: { emqx: { sessEvictRate: 30 } }, request: { emqx: { waitTakeover: '1s' } } },
      { settings: { emqx: { connEvictRate: 10, sessEvictRate: 30, waitTakeoverMs: 1000, waitHealthCheckMs: 10_000, initialDelayMs: 10_000, drainIntervalMs: 30_000, drain: 'auto', scaleDownDuringDrain: false } } },
    ],
    ["the file over the kind's defaults: Kong all at once", { kind: 'kong', file: { traffic: 'all-at-once' } }, { options: { traffic: ALL_AT_ONCE, approveBefore: ['finalize'] } }],
    ["the target over the kind's defaults: a projection without the ready report", { kind: 'projection', target: { waitForReadyReport: false } }, { options: { waitForReadyReport: false } }],
    ['approval auto in the configuration: no gate, and a request may keep it', { target: { approval: 'auto' }, request: { approval: 'auto' } }, { options: { approval: 'auto', approveBefore: [] } }],
  ])('%s', (_name, layers, expected) => {
    expect(start(layers)).toMatchObject(expected);
  });
});

describe("the target's policy", () => {
  test('four-eyes at a gate: the settings require a distinct approver', () => {
    expect(start({ policy: { approvals: { finalize: { requireDistinctApprover: true } } } }).options.requireDistinctApprover).toBe(true);
  });

  test.each<[string, Layers, string, RegExp]>([
    ['approval auto over manual (tighten)', { request: { approval: 'auto' } }, 'options.approval', /policy\.options\.approval: tighten\): auto skips the approval/],
    ['a ready report dropped (tighten)', { kind: 'projection', request: { waitForReadyReport: false } }, 'options.waitForReadyReport', /skips the ready report the configuration waits for/],
    ["Kong's plan replaced by all at once (tighten)", { kind: 'kong', request: { traffic: 'all-at-once' } }, 'options.traffic', /replaces the configuration's plan of 3 steps/],
    ['a standby window below its minimum', { request: { standbyWindow: '10s' } }, 'options.standbyWindow', /policy\.standbyWindow: 30s to 30d\): 10s is outside/],
    ["a kind's block denied", { request: { emqx: { connEvictRate: 5 } }, policy: { options: { emqx: 'deny' } } }, 'options.emqx', /policy\.options\.emqx: deny\): a request may not set it/],
  ])('refused (403): %s', (_name, layers, field, message) => {
    expect(refusal(layers)).toEqual({ status: 403, field, message: expect.stringMatching(message) });
  });

  test('allowed: what tighten refused', () => {
    expect(start({ kind: 'kong', request: { traffic: 'all-at-once', approval: 'auto' }, policy: ALLOW }).options).toMatchObject({ traffic: ALL_AT_ONCE, approval: 'auto', approveBefore: ['finalize'] });
    expect(start({ kind: 'projection', request: { waitForReadyReport: false }, policy: ALLOW }).options.waitForReadyReport).toBe(false);
  });
});

describe('combinations the schema cannot express (400, naming the field as written)', () => {
  test.each<[Layers, string, string]>([
    [{ request: { traffic: [{ weight: 10 }, { weight: 50 }] } }, 'traffic', 'the last step must send all traffic to green (weight 100), not 50'],
    [{ request: { traffic: [{ weight: 50 }, { weight: 10 }, { weight: 100 }] } }, 'traffic', 'step 2: weights must rise (50 then 10)'],
    [{ request: { traffic: [{ weight: 100, analysis: ['latency'] }] } }, 'traffic[0].analysis[0]', "names no analysis check 'latency' (known: error-rate)"],
    [{ request: { stepTimeouts: { standBy: '5m' }, standbyWindow: '10m' } }, 'stepTimeouts.standBy', 'is not longer than standbyWindow (10m): the standby step lasts its whole window'],
    [{ request: { stepTimeouts: { standBy: '10m' } } }, 'stepTimeouts.standBy', 'is not longer than standbyWindow (10m): the standby step lasts its whole window'],
    [{ request: { stepTimeouts: { verify: '0s' } } }, 'stepTimeouts.verify', 'must be longer than 0s'],
    [{ request: { rollbackTimeout: '0s' } }, 'rollbackTimeout', 'must be longer than 0s'],
    [{ request: { autoPromoteAfter: '1h' }, target: { approval: 'auto' } }, 'autoPromoteAfter', 'applies only with approval manual: approval auto has no gate to wait at'],
    [
      { request: { approveBefore: ['finalize'], gates: { finalize: { autoPromoteAfter: '3h', timeout: '1h' } } } },
      'gates.finalize.autoPromoteAfter',
      "3h is not shorter than the gate's time limit (gates.finalize.timeout 1h): the time limit rolls back first, so it could never fire",
    ],
    [
      { request: { autoPromoteAfter: '2h', stepTimeouts: { gate: '2h' } } },
      'autoPromoteAfter',
      "2h is not shorter than the gate's time limit (stepTimeouts.gate 2h): the time limit rolls back first, so it could never fire",
    ],
  ])('%j', (layers, field, message) => {
    expect(refusal(layers)).toEqual({ status: 400, field: `options.${field}`, message: `options.${field} ${message}` });
  });
});

test('an input the API starts is complete: the upcast the workflow runs on it changes nothing', () => {
  const inputs = [
    ...(['emqx', 'kong', 'projection'] as const).map((kind) => start({ kind })),
    start({ request: { traffic: [{ weight: 50, pause: '1m' }, { weight: 100 }], autoPromoteAfter: '1h', stepTimeouts: { gate: '2h' }, emqx: { waitTakeover: '3s' } }, policy: ALLOW }),
  ];
  for (const input of inputs) expect(completeInput(input)).toEqual(input);
});
