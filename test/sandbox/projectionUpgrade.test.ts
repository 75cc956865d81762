/**
 * The event-sourced sandbox end to end on the local platform: the shipped
 * workflow, the real activities, the API listening (the releases long-poll
 * their phase and report ready through it), PostgreSQL with an Axon store
 * the producer keeps appending to, nginx in front of the serving release,
 * and a client querying through nginx the whole time.
 */
import { get as httpGet } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { createActivities } from '../../src/activities';
import type { TargetConfig } from '../../src/config/targets';
import type { CatchUpHeartbeat } from '../../src/domain/projection/catchUp';
import { freePort } from '../../src/runtime/freePort';
import { createLocalSandboxes } from '../../src/sandbox';
import type { LocalSandbox } from '../../src/sandbox/localSandbox';
import { call, testConfig, testServer } from '../api/harness';
import { releaseDatabaseName } from '../../src/domain/projection/naming';
import { connectSharedServer, eventually, startWorker, uniqueId, type RunningWorker } from '../support/temporal';
import { clusterDir } from './helpers';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await connectSharedServer();
});
afterAll(async () => {
  await env?.teardown();
});

interface Stack {
  name: string;
  app: FastifyInstance;
  sandbox: LocalSandbox;
  secrets: NodeJS.ProcessEnv;
  queryUrl: string;
  stop(): Promise<void>;
}

async function startStack(seed: number): Promise<Stack> {
  const name = uniqueId('proj');
  const ports = { query: await freePort(), postgres: await freePort(), status: await freePort() };
  const target: TargetConfig = {
    name,
    kind: 'projection',
    local: { cluster: name, version: '1.4.0', replicas: 1, ports },
    projection: { catchUp: { preset: 'axon', naming: 'jdbc' }, eventStoreUrl: { env: 'STORE' }, databasesUrl: { env: 'DBS' }, rolePasswordSecret: { env: 'ROLES' } },
  };
  const taskQueue = uniqueId('proj');
  const config = testConfig([target], taskQueue);
  config.auth.principals.push({ principal: 'svc', roles: ['service'], target: name, token: 'service-token-for-tests', tokenSource: 'env' });
  const app = await testServer(env.client, config);
  const apiPort = await freePort();
  await app.listen({ host: '127.0.0.1', port: apiPort });
  const secrets: NodeJS.ProcessEnv = {
    CUTOVER_API_PORT: String(apiPort),
    SANDBOX_PROJECTION_SERVICE_TOKEN: 'service-token-for-tests',
    SANDBOX_PROJECTION_SEED: String(seed),
    SANDBOX_PROJECTION_APPEND_RATE: '200',
  };
  const sandbox = createLocalSandboxes([target], clusterDir('projection'), secrets).get(name)!;
  let worker: RunningWorker | undefined;
  const stop = async () => {
    await worker?.stop();
    await sandbox.stop();
    await app.close();
  };
  try {
    await sandbox.start();
    const activities = createActivities([target], { sandboxes: new Map([[name, sandbox]]), env: secrets, pollMs: 200 });
    // heartbeats reach the server at least twice a second, so the API's view of the catch-up is fresh
    worker = await startWorker(env, taskQueue, activities, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! }, maxHeartbeatThrottleInterval: '500 ms' });
    return { name, app, sandbox, secrets, queryUrl: `http://127.0.0.1:${ports.query}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One query on a connection of its own: nginx's graceful reload closes idle keep-alive connections, a race no server can win. */
function getJson(url: string): Promise<{ status: number; body: { release?: string } }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { release?: string } });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Queries customers through nginx every 20 ms; counts what did not answer 200 and who answered. */
function queryLoad(url: string) {
  const answers: { at: number; status: number; release?: string }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      try {
        const { status, body } = await getJson(`${url}/customers/c${Math.floor(Math.random() * 1000)}`);
        answers.push({ at, status, release: body.release });
      } catch {
        answers.push({ at, status: 0 });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    answers,
    errors: () => answers.filter((a) => a.status !== 200),
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

const databases = async (stack: Stack) => {
  const c = new Client({ connectionString: stack.secrets.DBS });
  await c.connect();
  const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'proj_%'");
  await c.end();
  return rows.map((r) => r.datname);
};

const OPTIONS = { approval: 'auto', projection: { poll: '250ms', hold: '2s', maxLag: 300, stallAfter: '3s', stallTimeout: '12s' } };

test('upgrade over a growing store: lag, rate and ETA while green builds, no failed query, blue dropped after the standby window', async () => {
  const stack = await startStack(500_000);
  const load = queryLoad(stack.queryUrl);
  try {
    const blue = `${stack.name}-1-4-0`;
    const green = `${stack.name}-2-0-0`;
    await eventually(async () => load.answers.some((a) => a.status === 200 && a.release === blue));
    const started = await call(stack.app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: stack.name, version: '2.0.0', options: { ...OPTIONS, standbyWindow: '6s' } } });
    expect(started.status).toBe(201);
    const id = started.json.id as string;
    const seen: { at: number; catchUp?: CatchUpHeartbeat; status: string; step: string }[] = [];
    let standByAt = 0;
    let blueKeptInStandBy = false; // blue's database is still there during the window
    await eventually(async () => {
      const s = (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
      seen.push({ at: Date.now(), catchUp: s.details?.catchUp, status: s.status, step: s.step });
      if (!standByAt && s.step === 'standBy') standByAt = Date.now();
      if (s.step === 'standBy') blueKeptInStandBy ||= (await databases(stack)).includes(releaseDatabaseName(blue));
      return ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'].includes(s.status) ? s : undefined;
    }, 180_000);
    const final = (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
    expect(final.status).toBe('SUCCEEDED');

    // the catch-up as a user saw it through the API while green built
    const building = seen.filter((s) => s.catchUp?.progress && s.catchUp.progress.lag > 300);
    expect(building.length).toBeGreaterThan(3);
    const at10 = building.find((s) => s.catchUp!.progress!.position >= 0.1 * s.catchUp!.progress!.head && s.catchUp!.progress!.etaMs !== undefined)!;
    const caughtUp = seen.find((s) => s.at > at10.at && (s.catchUp?.progress?.lag ?? Infinity) <= 300) ?? seen.find((s) => s.at > at10.at && s.step !== 'waitReady')!;
    const predicted = at10.catchUp!.progress!.etaMs!;
    const actual = caughtUp.at - at10.at;
    console.log(`ETA at 10%: ${predicted} ms predicted, ${actual} ms actual (${Math.round((100 * (predicted - actual)) / actual)}%); ` +
      `rate ${Math.round(at10.catchUp!.progress!.rate)} events/s; ${at10.catchUp!.summary}; ` +
      `${load.answers.length} queries, ${load.errors().length} failed`);
    // a short build on two shared cores speeds up as it goes; the 1,000,000-event sandbox is where the 25% is measured
    expect(predicted / actual).toBeGreaterThan(1 / 3);
    expect(predicted / actual).toBeLessThan(3);

    // blue answered until the switch, green after it, nothing failed
    await new Promise((r) => setTimeout(r, 500));
    expect(load.errors()).toEqual([]);
    const firstGreen = load.answers.findIndex((a) => a.release === green);
    expect(firstGreen).toBeGreaterThan(0);
    expect(load.answers.slice(firstGreen).every((a) => a.release === green)).toBe(true);
    expect(standByAt).toBeGreaterThan(0);
    expect(blueKeptInStandBy).toBe(true);
    expect(await databases(stack)).not.toContain(releaseDatabaseName(blue));
    expect(await databases(stack)).toContain(releaseDatabaseName(green));
  } finally {
    await load.stop();
    await stack.stop();
  }
}, 240_000);

test('rollback during STANDING_BY: blue answers again at once, with what was appended after the switch; green is dropped', async () => {
  const stack = await startStack(100_000);
  const load = queryLoad(stack.queryUrl);
  try {
    const blue = `${stack.name}-1-4-0`;
    const green = `${stack.name}-2-0-0`;
    await eventually(async () => load.answers.some((a) => a.status === 200 && a.release === blue));
    const started = await call(stack.app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: stack.name, version: '2.0.0', options: { ...OPTIONS, standbyWindow: '10m' } } });
    const id = started.json.id as string;
    await eventually(async () => (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json.step === 'standBy', 120_000);
    const switchedAt = Date.now();
    const bluePort = await stack.sandbox.read((s) => s.releases[blue].ports[0].query);
    const blueStatus = async () => (await (await fetch(`http://127.0.0.1:${bluePort}/status`)).json()) as { phase: string; position: number; head: number };
    const atSwitch = await blueStatus();
    await new Promise((r) => setTimeout(r, 3000)); // the producer appends while blue stands by
    const standingBy = await blueStatus();
    expect(standingBy.phase).toBe('STANDING_BY');
    expect(standingBy.position).toBeGreaterThan(atSwitch.head); // still processing

    const asked = Date.now();
    const rolled = await call(stack.app, 'POST', `/v1/upgrades/${id}/rollback`, { as: 'operator', body: { reason: 'test' } });
    expect(rolled.status).toBe(200);
    const firstBlue = await eventually(async () => load.answers.find((a) => a.at >= asked && a.release === blue && a.status === 200), 30_000);
    console.log(`rollback: first query answered by blue ${firstBlue.at - asked} ms after the request; blue at ${standingBy.position}, ${standingBy.position - atSwitch.head} events past the head at the switch`);
    expect(firstBlue.at - asked).toBeLessThan(5000);
    await eventually(async () => ['ROLLED_BACK', 'FAILED'].includes((await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json.status), 60_000);
    const final = (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.releases.blue.phase).toBe('SERVING');
    expect(final.releases.green.phase).toBe('OBSOLETE');
    expect((await blueStatus()).phase).toBe('SERVING');
    expect(await databases(stack)).not.toContain(releaseDatabaseName(green));
    await new Promise((r) => setTimeout(r, 500));
    console.log(`rollback test: ${load.answers.length} queries, failed at ${JSON.stringify(load.errors().map((e) => e.at - asked))} ms from the rollback request; switch at ${switchedAt - asked}`);
    expect(load.errors()).toEqual([]);
  } finally {
    await load.stop();
    await stack.stop();
  }
}, 240_000);
