/** `npm start` itself (npm, then package.json's start script), in a process group of its own, on its own ports and data directory. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/runtime/binaries';
import { freePort } from '../../src/runtime/freePort';
import { eventually } from '../support/temporal';

export const OPERATOR = 'dev-operator-token-change-me';

export interface NpmStartSetup {
  env: NodeJS.ProcessEnv;
  api: string;
  temporalAddress: string;
  dataDir: string;
  /** The sandbox's loopback ports (nginx). */
  ports: { mqtt: number; api: number; status: number };
  /** Where the sandbox's nginx runs from (nginx.pid). */
  nginxPrefix: string;
  /** The sandbox's recorded state. */
  stateFile: string;
  /** The port its Prometheus asks for. */
  prometheusPort: number;
}

export interface NpmStartOptions {
  /** Also the event-sourced sandbox (its PostgreSQL, a small event store, its service polling its phase). */
  projection?: boolean;
  /** The data directory; default: one in a new temporary directory. */
  dataDir?: string;
}

export const PROJECTION_SERVICE_TOKEN = 'dev-sandbox-projection-service-token-change-me';

/** The sandbox-projection target, as cutover.config.yaml ships it, on free ports. */
async function projectionTarget() {
  const [query, postgres, status] = await Promise.all([1, 2, 3].map(() => freePort()));
  return {
    name: 'sandbox-projection',
    kind: 'projection',
    local: { cluster: 'start-test-projection', version: '1.4.0', replicas: 1, ports: { query, postgres, status } },
    projection: {
      catchUp: { preset: 'axon', naming: 'jdbc' },
      eventStoreUrl: { env: 'SANDBOX_PROJECTION_EVENT_STORE_URL' },
      databasesUrl: { env: 'SANDBOX_PROJECTION_DATABASES_URL' },
      rolePasswordSecret: { env: 'SANDBOX_PROJECTION_ROLE_SECRET' },
      processorName: '{target}-{release}',
    },
    defaults: { approval: 'auto' },
    policy: { standbyWindow: { min: '0s' } },
  };
}

export async function setUpNpmStart(o: NpmStartOptions = {}): Promise<NpmStartSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-start-'));
  const [apiPort, devPort, uiPort, mqttPort, emqxApiPort, statusPort, prometheusPort] = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(() => freePort()));
  const cluster = 'start-test';
  const projection = o.projection ? [await projectionTarget()] : [];
  const config = {
    targets: [
      {
        name: 'sandbox-emqx',
        kind: 'emqx',
        local: { cluster, version: '5.7.0', replicas: 3, ports: { mqtt: mqttPort, api: emqxApiPort, status: statusPort } },
        emqx: { apiUrl: `http://127.0.0.1:${emqxApiPort}`, apiKey: { env: 'SANDBOX_EMQX_API_KEY' }, apiSecret: { env: 'SANDBOX_EMQX_API_SECRET' } },
        // as the shipped sandbox target: no approval gate, standby windows of seconds
        defaults: { approval: 'auto' },
        policy: { standbyWindow: { min: '0s' } },
      },
      ...projection,
    ],
    auth: {
      tokens: [
        { principal: 'operator', roles: ['operator'], token: { env: 'CUTOVER_TOKEN_OPERATOR', devDefault: OPERATOR } },
        ...projection.map(() => ({ principal: 'sandbox-projection-service', roles: ['service'], target: 'sandbox-projection', token: { env: 'SANDBOX_PROJECTION_SERVICE_TOKEN', devDefault: PROJECTION_SERVICE_TOKEN } })),
      ],
    },
  };
  writeFileSync(join(dir, 'cutover.config.json'), JSON.stringify(config));
  const dataDir = o.dataDir ?? join(dir, 'data');
  return {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: '',
      CUTOVER_CONFIG: join(dir, 'cutover.config.json'),
      CUTOVER_DATA_DIR: dataDir,
      CUTOVER_API_PORT: String(apiPort),
      CUTOVER_DEV_TEMPORAL_PORT: String(devPort),
      CUTOVER_DEV_TEMPORAL_UI_PORT: String(uiPort),
      CUTOVER_DEV_PROMETHEUS_PORT: String(prometheusPort),
      LOG_LEVEL: 'warn',
      // a small event store: seeded in a second
      SANDBOX_PROJECTION_SEED: '2000',
    },
    api: `http://127.0.0.1:${apiPort}`,
    temporalAddress: `127.0.0.1:${devPort}`,
    dataDir,
    ports: { mqtt: mqttPort, api: emqxApiPort, status: statusPort },
    nginxPrefix: join(dataDir, 'nginx', cluster),
    stateFile: join(dataDir, 'sandbox', cluster, 'state.json'),
    prometheusPort,
  };
}

export interface NpmStart {
  /** npm. */
  process: ChildProcess;
  /** Its process group (npm leads one, as a shell's foreground job does). */
  pgid: number;
  /** What it printed so far. */
  output(): string;
  /** Resolves with npm's exit code. */
  exited: Promise<number | null>;
}

/**
 * Runs `npm start` in a process group of its own; `up` resolves once it says
 * it is up, and rejects if it exits first. Without the prestart bootstrap,
 * which `npm test` ran before (and which would install into node_modules).
 */
export function npmStart(setup: NpmStartSetup, { terminal = false } = {}): NpmStart & { up: Promise<string> } {
  // in a terminal: util-linux's script runs it on a pseudo-terminal of its own, as its foreground job
  const child = terminal
    ? spawn('script', ['--quiet', '--flush', '--return', '--command', 'exec npm start --ignore-scripts', '/dev/null'], { cwd: projectRoot, env: setup.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    : spawn('npm', ['start', '--ignore-scripts'], { cwd: projectRoot, env: setup.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const up = new Promise<string>((resolve, reject) => {
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
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  });
  up.catch(() => undefined);
  return { process: child, pgid: child.pid!, output: () => out, exited, up };
}

/** The pid of src/embedded/main.ts, as the start recorded it in its data directory. */
export const mainPid = (setup: NpmStartSetup): number => (JSON.parse(readFileSync(join(setup.dataDir, 'npm-start.json'), 'utf8')) as { pid: number }).pid;

/** The processes main.ts started itself (from /proc: those whose parent it is). */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Ctrl-C typed in npm start's terminal (npmStart with terminal): the terminal signals its foreground group. */
export async function typeCtrlC(run: NpmStart): Promise<number | null> {
  run.process.stdin!.write('\x03');
  return run.exited;
}

/** Ctrl-C in a terminal: SIGINT to every process of the foreground group at once. */
export async function ctrlC(run: NpmStart): Promise<number | null> {
  process.kill(-run.pgid, 'SIGINT');
  return run.exited;
}

/** GET on npm start's API as the operator, its JSON body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- read through matchers
export const apiGet = async (setup: NpmStartSetup, path: string): Promise<any> => (await fetch(`${setup.api}${path}`, { headers: { authorization: `Bearer ${OPERATOR}` } })).json();

/** Starts the sandbox EMQX upgrade to 5.8.0 through the API, with evictions and waits short enough for a test; its id. */
export async function startEmqxUpgrade(setup: NpmStartSetup): Promise<string> {
  const res = await fetch(`${setup.api}/v1/upgrades`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      kind: 'emqx',
      target: 'sandbox-emqx',
      version: '5.8.0',
      options: { approval: 'auto', standbyWindow: '1s', emqx: { connEvictRate: 50, sessEvictRate: 50, waitTakeover: '3s', waitHealthCheck: '1s', initialDelay: '1s' } },
    }),
  });
  const body = (await res.json()) as { id?: string };
  if (res.status !== 201 || !body.id) throw new Error(`the upgrade did not start: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

/** Once the upgrade evacuates its first blue node. */
export async function untilDrain(setup: NpmStartSetup, id: string): Promise<void> {
  await eventually(async () => ((await apiGet(setup, `/v1/upgrades/${id}`)).details?.nodeEvacuationsStatus ?? []).length >= 1, 120_000);
}

/** The upgrade's view once it ended (SUCCEEDED, ROLLED_BACK or FAILED). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- read through matchers
export function untilEnded(setup: NpmStartSetup, id: string): Promise<any> {
  return eventually(async () => {
    const s = await apiGet(setup, `/v1/upgrades/${id}`);
    return ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'].includes(s.status) && s;
  }, 180_000);
}
