/**
 * `npm start` keeps what it started alive: the embedded dev server SIGKILLed
 * in the middle of a sandbox EMQX upgrade's drain is started again on its
 * port and history file, with a log line, and the upgrade goes on to
 * SUCCEEDED with nobody restarting anything (the worker and the API
 * reconnect by themselves). Prometheus and a sandbox node killed after it are
 * started again too.
 */
import { commandOf, portHolders } from '../../src/runtime/processes';
import { eventually } from '../support/temporal';
import { childrenOf, ctrlC, mainPid, npmStart, setUpNpmStart, startEmqxUpgrade, untilDrain, untilEnded, type NpmStart, type NpmStartSetup } from './npmStartHarness';

let setup: NpmStartSetup;
let run: NpmStart | undefined;
afterAll(async () => {
  if (run) await ctrlC(run);
});


/** The one process listening on a port. */
function listener(port: number): number {
  const holders = portHolders(port);
  expect(holders).toHaveLength(1);
  return holders[0].pid;
}

test('the dev server killed during a drain is started again, and the upgrade ends SUCCEEDED by itself; so are Prometheus and a node', async () => {
  setup = await setUpNpmStart();
  // at info: the lines saying what came back
  delete setup.env.LOG_LEVEL;
  const r = npmStart(setup);
  run = r;
  const printed = await r.up;
  const prometheusPort = Number(/Prometheus: {2}http:\/\/127\.0\.0\.1:(\d+)/.exec(printed)![1]);
  const devPort = Number(setup.temporalAddress.split(':')[1]);

  const id = await startEmqxUpgrade(setup);

  // in the drain: the first blue node being evacuated
  await untilDrain(setup, id);
  const killed = listener(devPort);
  process.kill(killed, 'SIGKILL');
  await eventually(async () => /Temporal dev server is running again/.test(r.output()), 60_000);
  expect(r.output()).toMatch(/the Temporal dev server exited; starting it again/);
  expect(listener(devPort)).not.toBe(killed);

  const final = await untilEnded(setup, id);
  expect(final.status).toBe('SUCCEEDED');
  expect(final.releases.green).toMatchObject({ version: '5.8.0', phase: 'SERVING' });
  // the history survived in the same SQLite file: every blue node drained once, in order, across the kill
  expect(final.details.nodeEvacuationsStatus.map((s: { state: string }) => s.state)).toEqual(['prohibiting', 'prohibiting', 'prohibiting']);

  const prometheus = listener(prometheusPort);
  process.kill(prometheus, 'SIGKILL');
  await eventually(async () => /Prometheus is running again/.test(r.output()), 60_000);
  await eventually(async () => (await fetch(`http://127.0.0.1:${prometheusPort}/-/ready`).catch(() => undefined))?.ok === true, 30_000);

  // a node of the serving release, as a pod of a StatefulSet whose process died
  const emqxNodes = () => childrenOf(mainPid(setup)).filter((pid) => commandOf(pid)?.includes('sandbox/emqx/node.ts'));
  const [victim] = emqxNodes();
  process.kill(victim, 'SIGKILL');
  await eventually(async () => /sandbox nodes running again/.test(r.output()), 60_000);
  expect(r.output()).toMatch(/sandbox node exited; starting it again/);
  expect(emqxNodes()).toHaveLength(3);
  expect(emqxNodes()).not.toContain(victim);
}, 480_000);
