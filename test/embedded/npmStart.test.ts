/**
 * `npm start` as a user runs it (src/embedded/main.ts in a process of its own, on its
 * own ports and data directory): it comes up, an upgrade of the sandbox
 * started through the API is listed by `temporal workflow list`, and when
 * npm start is stopped with Ctrl-C in the middle of the drain and started
 * again, the upgrade resumes from the Temporal history and finishes. Its
 * Prometheus scrapes cutover, the worker and the sandbox's EMQX nodes, and
 * sees the upgrade succeed.
 */
import { spawnSync } from 'node:child_process';
import { temporalCliPath } from '../../src/runtime/binaries';
import { eventually } from '../support/temporal';
import { ctrlC, npmStart, setUpNpmStart, startEmqxUpgrade, untilDrain, untilEnded, type NpmStart, type NpmStartSetup } from './npmStartHarness';

let setup: NpmStartSetup;
let run: NpmStart | undefined;
let api: string;

/** Resolves with what it printed once it says it is up. */
async function start(): Promise<string> {
  const r = npmStart(setup);
  run = r;
  return r.up;
}

async function stop(): Promise<void> {
  await ctrlC(run!);
  run = undefined;
}

async function setUp(): Promise<void> {
  setup = await setUpNpmStart();
  api = setup.api;
}


/** The single value of an instant query, or undefined without data. */
async function promql(prometheus: string, query: string): Promise<number | undefined> {
  const body = (await (await fetch(`${prometheus}/api/v1/query?${new URLSearchParams({ query })}`)).json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result.length ? Number(body.data.result[0].value[1]) : undefined;
}

beforeAll(setUp);
afterAll(async () => {
  if (run) await stop();
});

test('npm start runs an upgrade started through the API, and resumes it after Ctrl-C and a restart', async () => {
  const printed = await start();
  expect(printed).toContain(`API docs:    ${api}/docs`);
  expect(printed).toMatch(/Temporal UI: http:\/\/127\.0\.0\.1:\d+/);
  const prometheus = /Prometheus: {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(printed)![1];
  await eventually(async () => (await promql(prometheus, 'sum(up{job=~"cutover|temporal-worker"})')) === 2, 30_000);
  // and the sandbox's own: each of the 3 EMQX nodes' Prometheus endpoint, labelled with its target
  await eventually(async () => (await promql(prometheus, 'sum(up{job="sandbox-emqx"})')) === 3, 30_000);
  expect(await promql(prometheus, 'count(emqx_live_connections_count{target="sandbox-emqx"})')).toBe(3);

  const id = await startEmqxUpgrade(setup);

  const list = spawnSync(temporalCliPath(), ['workflow', 'list', '--address', setup.temporalAddress], { encoding: 'utf8' });
  expect(list.stdout).toContain('upgrade-sandbox-emqx');

  // Ctrl-C once the first blue node has been evacuated
  await untilDrain(setup, id);
  await stop();

  const restarted = /Prometheus: {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(await start())![1];
  const final = await untilEnded(setup, id);
  expect(final.status).toBe('SUCCEEDED');
  expect(final.releases.green).toMatchObject({ version: '5.8.0', phase: 'SERVING' });
  expect(final.releases.blue).toMatchObject({ version: '5.7.0', phase: 'OBSOLETE' });
  // every blue node drained once, in order, across the restart
  expect(final.details.nodeEvacuationsStatus.map((s: { state: string }) => s.state)).toEqual(['prohibiting', 'prohibiting', 'prohibiting']);
  // the workflow's metrics sink, through cutover's /metrics, in Prometheus
  await eventually(async () => (await promql(restarted, 'sum(cutover_upgrade_status_total{kind="emqx",status="SUCCEEDED"})')) === 1, 30_000);
}, 420_000);
