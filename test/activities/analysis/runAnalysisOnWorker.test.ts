/**
 * runAnalysis on a real worker: sixty measurements cost the history what one
 * does, in events, and what twenty do, in size (a result keeps the latest
 * ten with the counts of all); a worker SIGKILLed in the middle of a run is followed by one that goes
 * on from the measurements its heartbeats carried, instead of starting over.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { KEPT_MEASUREMENTS, toAnalysisCheck, type AnalysisResult } from '../../../src/domain/analysis';
import { builtInProviders, createAnalysisActivities } from '../../../src/activities/analysis';
import { connectSharedServer, eventually, startWorker, uniqueId } from '../../support/temporal';

let env: TestWorkflowEnvironment;
let child: ChildProcess | undefined;
let server: Server;
/** When each measurement reached the service. */
const hits: number[] = [];

beforeAll(async () => {
  env = await connectSharedServer();
  server = createServer((_req, res) => {
    hits.push(Date.now());
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errorRate: 0.01 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await new Promise((r) => server.close(r));
  await env?.teardown();
});

function workerProcess(taskQueue: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../support/analysisWorkerProcess.ts'), taskQueue], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(proc));
    proc.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)));
  });
}

test('sixty measurements add no more history events than one, and no more bytes than twenty', async () => {
  const taskQueue = uniqueId('analysis-history');
  const worker = await startWorker(env, taskQueue, createAnalysisActivities({ providers: builtInProviders({ allowedHosts: () => ['127.0.0.1'] }) }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/checks`;
  const events = async (count: number) => {
    const check = toAnalysisCheck({ name: 'error-rate', provider: 'http', url, jsonPath: '$.errorRate', successCondition: 'result < 0.05', interval: '20ms', count });
    const handle = await env.client.workflow.start('analysisRun', { taskQueue, workflowId: uniqueId('analysis'), args: [{ target: 'shop', check, vars: {} }] });
    const result = (await handle.result()) as AnalysisResult;
    expect(result.taken?.Successful).toBe(count);
    expect(result.measurements).toHaveLength(Math.min(count, KEPT_MEASUREMENTS));
    const history = await handle.fetchHistory();
    return { events: history.events?.length, bytes: JSON.stringify(history).length };
  };
  try {
    const [one, twenty, sixty] = [await events(1), await events(20), await events(60)];
    expect(sixty.events).toBe(one.events);
    expect(one.events).toBeLessThanOrEqual(12);
    // the same ten measurements kept: only ids and timestamps differ
    expect(Math.abs(sixty.bytes - twenty.bytes)).toBeLessThan(100);
  } finally {
    await worker.stop();
  }
}, 60_000);

test('SIGKILL of the worker mid-analysis: its successor resumes from the heartbeat and returns every measurement', async () => {
  hits.length = 0;
  const taskQueue = uniqueId('analysis-crash');
  child = await workerProcess(taskQueue);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/checks`;
  const check = toAnalysisCheck({ name: 'error-rate', provider: 'http', url, jsonPath: '$.errorRate', successCondition: 'result < 0.05', interval: '1s', count: 6 });
  const handle = await env.client.workflow.start('analysisRun', { taskQueue, workflowId: uniqueId('analysis'), args: [{ target: 'shop', check, vars: {} }] });

  await eventually(async () => hits.length >= 3, 30_000);
  child.kill('SIGKILL');
  await new Promise((r) => child!.once('exit', r));
  child = undefined;
  const killedAt = Date.now();
  const before = hits.length;

  const successor = await startWorker(env, taskQueue, createAnalysisActivities({ providers: builtInProviders({ allowedHosts: () => ['127.0.0.1'] }), heartbeatEveryMs: 200 }));
  try {
    const result = (await handle.result()) as AnalysisResult;
    expect(result.phase).toBe('Successful');
    expect(result.taken?.Successful).toBe(6);
    expect(result.measurements).toHaveLength(6);
    // the dead worker's measurements are in the result: the successor went on from them
    const kept = result.measurements.filter((m) => Date.parse(m.at) < killedAt).length;
    expect(kept).toBeGreaterThanOrEqual(2);
    // at most the one measurement after the last heartbeat that reached the server is taken again
    expect(hits.length - before).toBeLessThanOrEqual(6 - kept + 1);
    expect(hits.length).toBeLessThanOrEqual(7);
  } finally {
    await successor.stop();
  }
}, 90_000);
