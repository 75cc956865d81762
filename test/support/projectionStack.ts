/**
 * The event-sourced sandbox's stack built in the test process: the API
 * listening (the releases long-poll their phase and report ready through it),
 * the local projection sandbox (PostgreSQL with an Axon store the producer
 * keeps appending to, nginx in front of the serving release), a worker with
 * the real activities, and a client querying through nginx.
 */
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { createActivities } from '../../src/activities';
import type { TargetConfig } from '../../src/config/targets';
import { freePort } from '../../src/runtime/freePort';
import { createLocalSandboxes } from '../../src/sandbox';
import { SANDBOX_PG_PASSWORD, SANDBOX_PG_USER } from '../../src/sandbox/postgres';
import type { CatchUpSource } from '../../src/domain/projection/source';
import type { LocalSandbox } from '../../src/sandbox/localSandbox';
import { testConfig, testServer } from '../api/harness';
import { startWorker, uniqueId, type RunningWorker } from './temporal';
import { clusterDir } from './emqxSandbox';
import { TEST_STEERING_KEYS } from './steering';

export interface ProjectionStack {
  name: string;
  target: TargetConfig;
  taskQueue: string;
  /** The sandbox PostgreSQL's directory (its log is postgres.log). */
  pgDir: string;
  app: FastifyInstance;
  sandbox: LocalSandbox;
  /** The store's and the release databases' URLs the sandbox put where the target's config points. */
  secrets: NodeJS.ProcessEnv;
  /** nginx's query listener, in front of the serving release. */
  queryUrl: string;
  /** The metrics endpoints the sandbox last told Prometheus to scrape (its releases' nodes). */
  scraped(): string[];
  stop(): Promise<void>;
}

/** What stands between the worker and the target: where it reads the catch-up (default the Axon store), and the port it reaches the releases' PostgreSQL on. */
export interface WorkerVia {
  catchUp?(sandbox: LocalSandbox): Promise<CatchUpSource>;
  postgresPort?(port: number): Promise<number>;
}

/** A projection target at 1.4.0 over a store seeded with `seed` events, the API, and a worker on its own task queue; `sandboxEnv` overrides the sandbox's variables. */
export async function startProjectionStack(env: TestWorkflowEnvironment, seed: number, sandboxEnv: NodeJS.ProcessEnv = {}, via: WorkerVia = {}): Promise<ProjectionStack> {
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
    // the sandbox service's raw pace unless a test asks for handlers that cost time
    SANDBOX_PROJECTION_HANDLER_COST_US: '0',
    ...sandboxEnv,
  };
  const dataDir = clusterDir('projection');
  const sandbox = createLocalSandboxes([target], dataDir, secrets).get(name)!;
  let scraped: string[] = [];
  sandbox.scrapeWith((targets, path) => (scraped = targets.map((t) => `http://${t}${path}`)));
  let worker: RunningWorker | undefined;
  const stop = async () => {
    await worker?.stop();
    await sandbox.stop();
    await app.close();
  };
  try {
    await sandbox.start();
    const workerTarget = via.catchUp ? { ...target, projection: { ...target.projection!, catchUp: await via.catchUp(sandbox) } } : target;
    // faults sit between the worker and PostgreSQL only: the sandbox and its services reach it directly
    const workerEnv = via.postgresPort
      ? { ...secrets, DBS: `postgres://${SANDBOX_PG_USER}:${SANDBOX_PG_PASSWORD}@127.0.0.1:${await via.postgresPort(ports.postgres)}/postgres` }
      : secrets;
    const activities = createActivities([workerTarget], { sandboxes: new Map([[name, sandbox]]), env: workerEnv, pollMs: 200, temporal: env.client, steeringKeys: TEST_STEERING_KEYS });
    // heartbeats reach the server at least twice a second, so the API's view of the catch-up is fresh
    worker = await startWorker(env, taskQueue, activities, { workflowBundle: { codePath: process.env.CUTOVER_WORKFLOW_BUNDLE! }, maxHeartbeatThrottleInterval: '500 ms' });
    const pgDir = join(dataDir, 'sandbox', name, 'postgres');
    return { name, target, taskQueue, app, sandbox, secrets, pgDir, queryUrl: `http://127.0.0.1:${ports.query}`, scraped: () => scraped, stop };
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

export interface QueryAnswer {
  at: number;
  status: number;
  release?: string;
}

/** Queries customers through nginx every 20 ms; counts what did not answer 200 and who answered. */
export function queryLoad(url: string) {
  const answers: QueryAnswer[] = [];
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

/** The release databases in the stack's PostgreSQL. */
export async function releaseDatabases(stack: ProjectionStack): Promise<string[]> {
  const c = new Client({ connectionString: stack.secrets.DBS });
  await c.connect();
  try {
    const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'proj_%'");
    return rows.map((r) => r.datname);
  } finally {
    await c.end();
  }
}
