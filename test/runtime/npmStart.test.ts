/**
 * `npm start` as a user runs it (src/main.ts in a process of its own, on its
 * own ports and data directory): it comes up, an upgrade of the sandbox
 * started through the API is listed by `temporal workflow list`, and when
 * npm start is stopped with Ctrl-C in the middle of the drain and started
 * again, the upgrade resumes from the Temporal history and finishes. Its
 * Prometheus scrapes cutover and the worker, and sees the upgrade succeed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, temporalCliPath } from '../../src/runtime/binaries';
import { freePort } from '../../src/runtime/freePort';
import { eventually } from '../support/temporal';

const OPERATOR = 'dev-operator-token-change-me';
let proc: ChildProcess | undefined;
let env: NodeJS.ProcessEnv;
let api: string;
let temporalAddress: string;

async function setUp(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-start-'));
  const [apiPort, devPort, uiPort, mqttPort, emqxApiPort, statusPort, prometheusPort] = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(() => freePort()));
  const config = {
    targets: [
      {
        name: 'sandbox-emqx',
        kind: 'emqx',
        local: { cluster: 'start-test', version: '5.7.0', replicas: 3, ports: { mqtt: mqttPort, api: emqxApiPort, status: statusPort } },
        emqx: { apiUrl: `http://127.0.0.1:${emqxApiPort}`, apiKey: { env: 'SANDBOX_EMQX_API_KEY' }, apiSecret: { env: 'SANDBOX_EMQX_API_SECRET' } },
      },
    ],
    auth: { tokens: [{ principal: 'operator', roles: ['operator'], token: { env: 'CUTOVER_TOKEN_OPERATOR', devDefault: OPERATOR } }] },
  };
  writeFileSync(join(dir, 'cutover.config.json'), JSON.stringify(config));
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: '',
    CUTOVER_CONFIG: join(dir, 'cutover.config.json'),
    CUTOVER_DATA_DIR: join(dir, 'data'),
    CUTOVER_API_PORT: String(apiPort),
    CUTOVER_DEV_TEMPORAL_PORT: String(devPort),
    CUTOVER_DEV_TEMPORAL_UI_PORT: String(uiPort),
    CUTOVER_DEV_PROMETHEUS_PORT: String(prometheusPort),
    LOG_LEVEL: 'warn',
  };
  api = `http://127.0.0.1:${apiPort}`;
  temporalAddress = `127.0.0.1:${devPort}`;
}

/** Starts main.ts and resolves with what it printed once it says it is up. */
function npmStart(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/main.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc = child;
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${out}`)), 90_000);
    const read = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ctrl-C stops everything')) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
  });
}

async function ctrlC(): Promise<void> {
  const child = proc!;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await exited;
  proc = undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- read through matchers
const get = async (path: string): Promise<any> => (await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${OPERATOR}` } })).json();

/** The single value of an instant query, or undefined without data. */
async function promql(prometheus: string, query: string): Promise<number | undefined> {
  const body = (await (await fetch(`${prometheus}/api/v1/query?${new URLSearchParams({ query })}`)).json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result.length ? Number(body.data.result[0].value[1]) : undefined;
}

beforeAll(setUp);
afterAll(async () => {
  if (proc) await ctrlC();
});

test('npm start runs an upgrade started through the API, and resumes it after Ctrl-C and a restart', async () => {
  const printed = await npmStart();
  expect(printed).toContain(`API docs:    ${api}/docs`);
  expect(printed).toMatch(/Temporal UI: http:\/\/127\.0\.0\.1:\d+/);
  const prometheus = /Prometheus: {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(printed)![1];
  await eventually(async () => (await promql(prometheus, 'sum(up{job=~"cutover|temporal-worker"})')) === 2, 30_000);

  const res = await fetch(`${api}/v1/upgrades`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      kind: 'emqx',
      target: 'sandbox-emqx',
      version: '5.8.0',
      options: { approval: 'auto', standbyWindow: '1s', emqx: { connEvictRate: 50, sessEvictRate: 50, waitTakeover: '3s', waitHealthCheck: '1s', initialDelay: '1s' } },
    }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };

  const list = spawnSync(temporalCliPath(), ['workflow', 'list', '--address', temporalAddress], { encoding: 'utf8' });
  expect(list.stdout).toContain('upgrade-sandbox-emqx');

  // Ctrl-C once the first blue node has been evacuated
  await eventually(async () => ((await get(`/v1/upgrades/${id}`)).details?.nodeEvacuationsStatus ?? []).length >= 1, 120_000);
  await ctrlC();

  const restarted = /Prometheus: {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(await npmStart())![1];
  const final = await eventually(async () => {
    const s = await get(`/v1/upgrades/${id}`);
    return ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'].includes(s.status) && s;
  }, 180_000);
  expect(final.status).toBe('SUCCEEDED');
  expect(final.releases.green).toMatchObject({ version: '5.8.0', phase: 'SERVING' });
  expect(final.releases.blue).toMatchObject({ version: '5.7.0', phase: 'OBSOLETE' });
  // every blue node drained once, in order, across the restart
  expect(final.details.nodeEvacuationsStatus.map((s: { state: string }) => s.state)).toEqual(['prohibiting', 'prohibiting', 'prohibiting']);
  // the workflow's metrics sink, through cutover's /metrics, in Prometheus
  await eventually(async () => (await promql(restarted, 'sum(cutover_upgrade_status_total{kind="emqx",status="SUCCEEDED"})')) === 1, 30_000);
}, 420_000);
