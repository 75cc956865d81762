/**
 * The worst upgrade the API accepts: every option at its largest accepted
 * value, and as many analysis runs as the history budget lets the traffic
 * plan have; driven through the API (start, ready reports, approvals), the
 * real workflow with the scripted strategy, and the real runAnalysis (http
 * provider against a local server, its waits on a clock that skips, as the
 * time-skipping server's timers do). Shared by the extreme-input test and the
 * bench's historyBudget section.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { builtInProviders, createAnalysisActivities, type AnalysisClock } from '../../src/activities/analysis';
import { buildServer } from '../../src/api/server';
import { upgradeInputFor } from '../../src/api/upgradeInput';
import type { StartUpgradeBody } from '../../src/api/schemas';
import type { Config } from '../../src/config/file';
import { BUILTIN_POLICY } from '../../src/config/policy';
import type { TargetConfig } from '../../src/config/targets';
import { MAX_READY_REPORTS } from '../../src/domain/decisions';
import { estimateHistory, type HistoryEstimate } from '../../src/domain/historyBudget';
import { isTerminal } from '../../src/domain/status';
import { STEPS, releaseName, upgradeWorkflowId, type UpgradeState } from '../../src/domain/upgrade';
import { workerDefaults } from '../../src/runtime/workerDefaults';
import { stateQuery } from '../../src/workflows/messages';
import { ScriptedWorld } from './scriptedWorld';
import { TEST_LIMITS } from '../api/harness';
import { TEST_STEERING_KEYS } from './steering';

export const LONGEST = '30d';
/** The longest auto-promotion a gate with a 30-day time limit accepts. */
export const JUST_UNDER = '29d23h59m59s999ms';
const TOKENS = { operator: 'extreme-operator-token-0000', approver: 'extreme-approver-token-0000' };

/** A target the extreme upgrades run on, whose policy lets a request set every option (within the bounds). */
export function extremeConfig(target: string, taskQueue: string): Config {
  const t: TargetConfig = {
    name: target,
    kind: 'emqx',
    emqx: { apiUrl: 'http://emqx.test:18083', apiKey: { env: 'UNUSED_KEY' }, apiSecret: { env: 'UNUSED_SECRET' } },
    kubernetes: { namespace: 'unused', workload: { kind: 'StatefulSet', name: 'emqx' }, service: 'emqx' },
  };
  return {
    env: { temporal: { namespace: 'default', taskQueue, connection: {} }, api: { host: '127.0.0.1', port: 0, limits: TEST_LIMITS }, configPath: 'test', logLevel: 'silent', steeringKeys: {} },
    file: 'test',
    targets: [t],
    auth: {
      principals: [
        { principal: 'operator', roles: ['operator'], token: TOKENS.operator, tokenSource: 'env' },
        { principal: 'approver', roles: ['approver'], token: TOKENS.approver, tokenSource: 'env' },
      ],
    },
    defaults: {},
    policy: {
      options: Object.fromEntries(Object.keys(BUILTIN_POLICY.options).map((k) => [k, 'allow'])),
      standbyWindow: { min: '0s', max: LONGEST },
      images: ['registry.example.com/**'],
      httpHosts: ['127.0.0.1'],
    },
    analysis: [],
    steering: TEST_STEERING_KEYS,
  };
}

/** A service the http checks measure: an error rate of 0.01. */
export async function startChecksService(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"errorRate":0.01}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const CHECKS = 50;
const VERIFY = 20;
const PLAN = 100;

/** `runs` analysis runs in the traffic plan, spread over its 100 steps; every other option at its largest (a step's pause: `pause`). */
export function extremeBody(target: string, checksUrl: string, runs: number, pause = LONGEST): StartUpgradeBody {
  const longest = LONGEST;
  const name = (i: number) => `c${String(i).padStart(2, '0')}`;
  // check c00 takes the most measurements a check may: 1,000, 43 minutes apart after 3 hours (30 days in all)
  const deep = { count: 1000, interval: '43m', initialDelay: '3h' };
  const analysis = Array.from({ length: CHECKS }, (_, i) => ({
    name: name(i),
    provider: 'http',
    url: `${checksUrl}/checks/{{green}}?check=${name(i)}&pad=${'p'.repeat(700)}`,
    jsonPath: '$.errorRate',
    successCondition: 'result < 0.05',
    failureLimit: 1000,
    inconclusiveLimit: 1000,
    consecutiveErrorLimit: 1000,
    ...(i === 0 ? deep : {}),
  }));
  const traffic = Array.from({ length: PLAN }, (_, i) => ({
    weight: i + 1,
    pause,
    analysis: Array.from({ length: Math.floor(runs / PLAN) + (i < runs % PLAN ? 1 : 0) }, (_, j) => name(1 + ((i + j * PLAN) % (CHECKS - 1)))),
    // a person approves every 25th step
    ...((i + 1) % 25 === 0 ? { approve: true } : {}),
  }));
  return {
    kind: 'emqx',
    target,
    version: '5.8.0',
    image: `registry.example.com/${'i'.repeat(220)}:5.8.0`,
    reason: 'r'.repeat(500),
    options: {
      approval: 'manual',
      autoPromoteAfter: JUST_UNDER,
      // the standby step's limit must be longer than its window (a day: timers a millisecond apart trip the time-skipping server)
      standbyWindow: '29d',
      // promote is the whole traffic plan, 100 pauses long: a limit of 30 days would end it at the first
      stepTimeouts: Object.fromEntries(STEPS.filter((s) => s !== 'promote').map((s) => [s, longest])),
      maxAttempts: 100,
      traffic,
      analysis,
      verifyAnalysis: Array.from({ length: VERIFY }, (_, i) => name(i)),
      approveBefore: ['promote', 'finalize'],
      gates: { promote: { autoPromoteAfter: JUST_UNDER, timeout: longest }, finalize: { autoPromoteAfter: JUST_UNDER, timeout: longest } },
      waitForReadyReport: true,
      rollbackTimeout: longest,
      emqx: { connEvictRate: 100_000, sessEvictRate: 100_000, waitTakeover: longest, waitHealthCheck: longest, initialDelay: longest, drainInterval: longest, scaleDownDuringDrain: true },
    },
  };
}

/** The most traffic-plan runs the API accepts (one more is over the budget), with the body and its estimate. */
export function worstAccepted(config: Config, checksUrl: string): { body: StartUpgradeBody; runs: number; estimate: HistoryEstimate } {
  const target = config.targets[0].name;
  const accepted = (runs: number) => {
    try {
      return upgradeInputFor(config, extremeBody(target, checksUrl, runs), 'operator');
    } catch {
      return undefined;
    }
  };
  let runs = 0;
  while (accepted(runs + 1)) runs++;
  return { body: extremeBody(target, checksUrl, runs), runs, estimate: estimateHistory(accepted(runs)!) };
}

/** Time for the analysis runs' waits that passes as soon as it is waited for. */
export function skippingClock(): AnalysisClock {
  let now = Date.now();
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

/** The scripted world's activities and the real runAnalysis (http to 127.0.0.1, waits on a skipping clock) on the environment's worker. */
export function extremeActivities(env: TestWorkflowEnvironment) {
  const world = new ScriptedWorld();
  return {
    ...world.activities(env.client),
    ...createAnalysisActivities({ providers: builtInProviders({ allowedHosts: () => ['127.0.0.1'] }), clock: skippingClock(), heartbeatEveryMs: 3_600_000 }),
  };
}

export interface ExtremeRun {
  final: UpgradeState;
  history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
  events: number;
  bytes: number;
  /** Ready reports the API took: recorded, and repeats that recorded nothing. */
  reports: { recorded: number; repeats: number };
  approvals: number;
}

type Call = (method: 'GET' | 'POST', url: string, as: keyof typeof TOKENS, body?: unknown) => Promise<{ status: number; json: { recorded?: boolean; id?: string; error?: unknown } }>;

function caller(app: FastifyInstance): Call {
  return async (method, url, as, body) => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKENS[as]}` }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, json: res.json() };
  };
}

/**
 * Starts the body through the API and drives the upgrade to its end: while
 * time stands still, green sends every ready report it may (each distinct,
 * each repeated once) and then says ready; then time runs ten days at a time
 * (the auto-promotion delays, the pauses and the standby window pass in
 * moments) and a person approves at every traffic step that asks.
 */
export async function runThroughApi(env: TestWorkflowEnvironment, config: Config, body: StartUpgradeBody): Promise<ExtremeRun> {
  const app = await buildServer({ client: env.client, config });
  const call = caller(app);
  try {
    const started = await call('POST', '/v1/upgrades', 'operator', body);
    if (started.status !== 201) throw new Error(`the API refused the upgrade: ${JSON.stringify(started.json)}`);
    const handle = env.client.workflow.getHandle(upgradeWorkflowId(body.target));
    const reports = body.options?.waitForReadyReport ? await sendReadyReports(handle, call, body) : { recorded: 0, repeats: 0 };
    let approvals = 0;
    // Time moves only in steps of ten days here: a wait for a person has no timer, and time running free would
    // skip to the run's end (the time-skipping server gives a run ten years).
    for (let s = await handle.query(stateQuery); !isTerminal(s.status); s = await handle.query(stateQuery)) {
      if (s.status === 'AWAITING_APPROVAL' && s.approval.gate === 'trafficStep') {
        const r = await call('POST', `/v1/upgrades/${s.upgradeId}/approve`, 'approver', { reason: 'a'.repeat(500) });
        if (r.status !== 200) throw new Error(`approval refused: ${JSON.stringify(r.json)}`);
        approvals++;
      } else {
        await env.sleep(10 * 86_400_000);
      }
    }
    const result = handle.result() as Promise<UpgradeState>;
    const final = await result;
    const history = await handle.fetchHistory();
    return { final, history, events: history.events?.length ?? 0, bytes: JSON.stringify(history).length, reports, approvals };
  } finally {
    await app.close();
  }
}

async function sendReadyReports(handle: WorkflowHandle, call: Call, body: StartUpgradeBody) {
  const green = releaseName(body.target, body.version);
  const url = `/v1/targets/${body.target}/releases/${green}/ready`;
  for (;;) {
    const s = await handle.query(stateQuery);
    if (s.releases.green?.phase === 'INITIALISING' && s.waitingFor.includes('to report ready')) break;
    if (isTerminal(s.status)) throw new Error(`the upgrade ended before waiting for green's report: ${s.failure?.message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const reports = { recorded: 0, repeats: 0 };
  for (let i = 0; i < MAX_READY_REPORTS; i++) {
    const last = i === MAX_READY_REPORTS - 1;
    const report = { ready: last, detail: `${String(i).padStart(3, '0')}${'d'.repeat(497)}` };
    for (const attempt of [0, 1]) {
      const r = await call('POST', url, 'operator', report);
      if (r.status !== 200) throw new Error(`ready report ${i} (${attempt ? 'repeat' : 'first'}) refused: ${JSON.stringify(r.json)}`);
      if (r.json.recorded) reports.recorded++;
      else reports.repeats++;
      if (last) break;
    }
  }
  return reports;
}

/** A worker of the scripted bundle on the environment, with the activities of the extreme upgrades. */
export function extremeWorker(env: TestWorkflowEnvironment, taskQueue: string, workflowBundle: { code: string } | { codePath: string }): Promise<Worker> {
  return Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: extremeActivities(env), ...workerDefaults() });
}
