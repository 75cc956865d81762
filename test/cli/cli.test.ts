/**
 * `cutover` driven as a child process against a real API and the suite's dev
 * server, with a worker running the real workflow on the scripted strategy:
 * --wait's exit codes, what each refusal says to do, --output json,
 * contexts, and watch in a terminal (tmux) and in a pipe.
 */
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { EXIT } from '../../src/cli/exitCodes';
import { freePort } from '../../src/runtime/freePort';
import { ScriptedWorld } from '../support/scriptedWorld';
import { connectSharedServer, eventually, startWorker, uniqueId, type RunningWorker } from '../support/temporal';
import { TOKENS, call, makeTargets, testConfig, testServer } from '../api/harness';
import { CUTOVER, cliEnv, cutover, listen, newHome } from './harness';
import { Terminal } from './tmux';

let env: TestWorkflowEnvironment;
let worker: RunningWorker;
let app: FastifyInstance;
let url: string;
const world = new ScriptedWorld();
const taskQueue = uniqueId('cli');
const { names: T, targets } = makeTargets({ ok: 'emqx', back: 'emqx', failed: 'emqx', busy: 'emqx', gate: 'emqx', json: 'emqx', tty: 'emqx', pipe: 'emqx', plan: 'emqx', planHeld: 'emqx' });

beforeAll(async () => {
  env = await connectSharedServer();
  worker = await startWorker(env, taskQueue, world.activities(env.client));
  app = await testServer(env.client, testConfig(targets, taskQueue));
  url = await listen(app);
});
afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await env?.teardown();
});

const startedId = (stdout: string): string => /started (\S+)/.exec(stdout)![1];
const stateOf = async (id: string) => (await call(app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;

describe('upgrade --wait exits with the outcome', () => {
  test('SUCCEEDED: 0, a line per change, the outcome last', async () => {
    const r = await cutover(url, ['upgrade', T.ok, '5.8.0', '--reason', 'ci deploy', '--wait', '--interval', '200ms']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.ok);
    const id = startedId(r.stdout);
    expect(r.stdout).toMatch(new RegExp(`${id} ended SUCCEEDED\\n$`));
    // each line a change: no two lines alike, and the steps seen in order
    const changes = r.stdout.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT/.test(l)).map((l) => l.slice(25));
    expect(new Set(changes).size).toBe(changes.length);
    expect(changes.at(-1)).toMatch(/^SUCCEEDED \| cleanUpBlue \| blue 1\.0\.0 OBSOLETE 0%, green 5\.8\.0 SERVING 100%/);
    expect((await stateOf(id)).transitions[0]).toMatchObject({ by: 'operator', why: 'ci deploy' });
  });

  test('ROLLED_BACK: 3, with the failure', async () => {
    world.fail(T.back, 'drainBlue', 'blue would not drain');
    // a failing call is retried until shortly before its step's time limit
    const r = await cutover(url, ['upgrade', T.back, '5.8.0', '--option', 'stepTimeouts.drainBlue=3s', '--wait', '--interval', '200ms']);
    expect(r.code).toBe(EXIT.rolledBack);
    expect(r.stdout).toMatch(/ended ROLLED_BACK: .*(blue would not drain|drainBlue did not finish within its time limit)/);
  });

  test('FAILED: 4, when the rollback itself cannot finish', async () => {
    world.fail(T.failed, 'drainBlue', 'blue would not drain');
    world.failUndo(T.failed, 'promote', 'router gone', Infinity, true);
    const r = await cutover(url, ['upgrade', T.failed, '5.8.0', '--option', 'stepTimeouts.drainBlue=3s', '--wait', '--interval', '200ms']);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stdout).toMatch(/ended FAILED: .*router gone/);
  });

  test('refused: 5, naming what holds the target and how to see it; abort from the CLI frees it', async () => {
    world.hold(T.busy, 'waitReady');
    const first = await cutover(url, ['upgrade', T.busy, '5.8.0']);
    expect(first.code).toBe(EXIT.ok);
    const id = startedId(first.stdout);
    const second = await cutover(url, ['upgrade', T.busy, '5.9.0', '--wait']);
    expect(second.code).toBe(EXIT.refused);
    expect(second.stderr).toContain(`target ${T.busy} already has an upgrade running: ${id}`);
    expect(second.stderr).toContain(`see it with: cutover status ${id}`);
    const cleanup = await cutover(url, ['cleanup', T.busy, '--reason', 'orphans']);
    expect(cleanup.code).toBe(EXIT.refused);
    expect(cleanup.stderr).toBe(`cutover: target ${T.busy} has an upgrade running: ${id}; a clean-up waits until it ends (or roll it back, or abort it); see it with: cutover status ${id}\n`);
    const aborted = await cutover(url, ['abort', T.busy, '--reason', 'wrong version']);
    expect(aborted.code).toBe(EXIT.ok);
    expect(aborted.stdout).toContain(`abort of ${id} accepted (by operator)`);
    await eventually(async () => (await stateOf(id)).status === 'ROLLED_BACK');
  });

  test('a gate: listed as AWAITING_APPROVAL, approved with --wait by an approver, history says who and why', async () => {
    const started = await cutover(url, ['upgrade', T.gate, '5.8.0', '--option', 'approval=manual']);
    const id = startedId(started.stdout);
    await eventually(async () => (await stateOf(id)).status === 'AWAITING_APPROVAL');
    const listed = await cutover(url, ['list', '--status', 'AWAITING_APPROVAL'], { as: 'viewer' });
    expect(listed.stdout).toMatch(new RegExp(`${id} +${T.gate} +emqx +AWAITING_APPROVAL`));
    const status = await cutover(url, ['status', T.gate], { as: 'viewer' });
    expect(status.stdout).toContain('⏸ gate: waiting: green is ready and verified');
    expect(status.stdout).toContain('⛔ finalize is the point of no return: not passed: rollback possible');
    const approved = await cutover(url, ['approve', id, '--reason', 'canary fine', '--wait', '--interval', '200ms'], { as: 'approver' });
    expect(approved.code).toBe(EXIT.ok);
    expect(approved.stdout).toContain(`${id} ended SUCCEEDED`);
    const history = await cutover(url, ['history', id], { as: 'viewer' });
    expect(history.stdout).toMatch(/approver +status +AWAITING_APPROVAL -> RUNNING +approved before promote/);
    expect(history.stdout).toMatch(/approver +signal +approved: canary fine/);
  });
});

describe('upgrade --plan previews it, starting nothing, refused as the start would be', () => {
  test('the preview as text and as JSON; nothing started', async () => {
    const args = ['upgrade', T.plan, '5.8.0', '--plan', '--option', 'traffic=[{weight: 10, pause: 1m}, {weight: 100}]', '--option', 'approval=manual'];
    const r = await cutover(url, args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(new RegExp(`^Preview: ${T.plan} \\(emqx\\) from 1\\.0\\.0 to 5\\.8\\.0, as operator would start it; nothing started\n`));
    expect(r.stdout).toMatch(/\n {3}6 ⏸ gate +wait for an approval before promote \(role approver\)/);
    expect(r.stdout).toMatch(/\n {2}10 ⛔ finalize +the point of no return: rollback is refused from here/);
    expect(r.stdout).toMatch(/\nTraffic plan\n +STEP +GREEN +PAUSE +ANALYSIS +APPROVAL\n +1 +10% +1m\n +2 +100%\n/);
    // the scripted blue has 1 replica; EMQX's default initial delay 10s, the pause 1m, the tests' standby 1s
    expect(r.stdout).toMatch(/\nCapacity\n +replicas +2 at once: blue's 1 and green's 1, from deployGreen until cleanUpBlue removes blue\n +for +at least 1m11s/);
    const json = await cutover(url, [...args, '--output', 'json']);
    expect(json.code).toBe(EXIT.ok);
    expect(JSON.parse(json.stdout)).toMatchObject({ dryRun: true, target: T.plan, gates: [{ step: 'gate', before: 'promote', roles: ['approver'] }] });
    expect((await call(app, 'GET', `/v1/upgrades?target=${T.plan}`, { as: 'viewer' })).json.upgrades).toEqual([]);
  });

  test("refusals exit as a start's: 5 for an option (naming the --option) or a held target (naming what holds it), 6 for a role", async () => {
    const option = await cutover(url, ['upgrade', T.plan, '5.8.0', '--plan', '--option', 'standbyWindow=soon']);
    expect(option.code).toBe(EXIT.refused);
    expect(option.stderr).toMatch(/options\.standbyWindow .*\(set with --option standbyWindow=…\)/);
    expect((await cutover(url, ['upgrade', T.plan, '5.8.0', '--plan'], { as: 'viewer' })).code).toBe(EXIT.unauthorized);
    world.hold(T.planHeld, 'waitReady');
    const id = startedId((await cutover(url, ['upgrade', T.planHeld, '5.8.0'])).stdout);
    const held = await cutover(url, ['upgrade', T.planHeld, '5.9.0', '--plan']);
    expect(held.code).toBe(EXIT.refused);
    expect(held.stderr).toContain(`target ${T.planHeld} already has an upgrade running: ${id}`);
    expect(held.stderr).toContain(`see it with: cutover status ${id}`);
    expect((await cutover(url, ['abort', id, '--reason', 'done'])).code).toBe(EXIT.ok);
  });
});

describe('every refusal says what to do', () => {
  test('401 names the variable the token came from; no token says where to put one', async () => {
    const wrong = await cutover(url, ['list'], { as: null, env: { CUTOVER_TOKEN: 'not-a-token' } });
    expect(wrong.code).toBe(EXIT.unauthorized);
    expect(wrong.stderr).toBe(
      "cutover: the API refused the token from CUTOVER_TOKEN (unknown bearer token): set CUTOVER_TOKEN (or --token, or a context's token) to a token of the API's configuration (auth.tokens in cutover.config.yaml)\n",
    );
    const none = await cutover(url, ['list'], { as: null });
    expect(none.code).toBe(EXIT.unauthorized);
    expect(none.stderr).toMatch(/^cutover: no token \(no bearer token: .*\): set CUTOVER_TOKEN, pass --token, or store one in a context/);
  });

  test('403 names the role', async () => {
    const r = await cutover(url, ['approve', `${T.ok}.00000000-0000-4000-8000-000000000000`, '--reason', 'x'], { as: 'viewer' });
    expect(r.code).toBe(EXIT.unauthorized);
    expect(r.stderr).toContain('approving an upgrade needs the approver role; viewer has viewer; use a token of a principal with the approver role');
  });

  test('connection refused names the URL tried and where it came from', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const r = await cutover(nobody, ['list']);
    expect(r.code).toBe(EXIT.unreachable);
    expect(r.stderr).toBe(
      `cutover: cannot reach the cutover API at ${nobody} (ECONNREFUSED); the URL came from CUTOVER_URL: start the API (npm start), or set CUTOVER_URL, --url or a context (cutover config set-context) to where it listens\n`,
    );
  });

  test('400 on an option names the --option to change; usage errors exit 2', async () => {
    const r = await cutover(url, ['upgrade', T.ok, '5.8.0', '--option', 'standbyWindow=soon']);
    expect(r.code).toBe(EXIT.refused);
    expect(r.stderr).toMatch(/options\.standbyWindow .*\(set with --option standbyWindow=…\)/);
    expect((await cutover(url, ['upgrade', T.ok])).code).toBe(EXIT.usage);
    expect((await cutover(url, ['approve', 'x'])).stderr).toContain("required option '--reason <text>' not specified");
  });
});

describe('--output json', () => {
  test('answers parse as the API gives them; an error is JSON on stderr with its exit code', async () => {
    const started = JSON.parse((await cutover(url, ['upgrade', T.json, '5.8.0', '-o', 'json'])).stdout);
    expect(started).toMatchObject({ id: expect.stringMatching(`^${T.json}\\.`), target: T.json, kind: 'emqx', version: '5.8.0', requestedBy: 'operator' });
    await eventually(async () => (await stateOf(started.id)).status === 'SUCCEEDED');
    const state = JSON.parse((await cutover(url, ['status', started.id, '-o', 'json'], { as: 'viewer' })).stdout);
    expect(state).toEqual(await stateOf(started.id));
    const listed = JSON.parse((await cutover(url, ['list', '--target', T.json, '--output', 'json'], { as: 'viewer' })).stdout);
    expect(listed.upgrades.map((u: { id: string }) => u.id)).toEqual([started.id]);
    const history = JSON.parse((await cutover(url, ['history', T.json, '-o', 'json'], { as: 'viewer' })).stdout);
    expect(history.transitions).toEqual(state.transitions);
    const targetsJson = JSON.parse((await cutover(url, ['targets', '-o', 'json'], { as: 'viewer' })).stdout);
    expect(targetsJson.targets).toContainEqual(expect.objectContaining({ name: T.json, kind: 'emqx', serving: [{ release: state.releases.green.name, version: '5.8.0', weight: 100 }] }));
    const me = JSON.parse((await cutover(url, ['whoami', '-o', 'json'], { as: 'approver' })).stdout);
    expect(me).toEqual({ principal: 'approver', roles: ['approver'] });

    const refused = await cutover(url, ['rollback', started.id, '--reason', 'too late', '-o', 'json']);
    expect(refused.code).toBe(EXIT.refused);
    expect(refused.stdout).toBe('');
    const error = JSON.parse(refused.stderr);
    expect(error).toEqual({ error: { message: expect.stringContaining(`cannot rollback ${started.id}`), exitCode: EXIT.refused, api: expect.objectContaining({ status: 409, code: 'CONFLICT' }) } });
  });
});

describe('contexts, as kubectl has them', () => {
  test('set-context, use-context, get-contexts; a command uses the current context, the environment wins over it', async () => {
    const home = newHome();
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) => cutover(undefined, args, { as: null, home, env });
    expect((await run(['config', 'set-context', 'here', '--url', url, '--token-env', 'HERE_TOKEN'])).stdout).toContain("context 'here' added");
    expect((await run(['config', 'set-context', 'elsewhere', '--url', 'http://127.0.0.1:9', '--token', TOKENS.viewer])).code).toBe(0);
    const file = join(home, '.config', 'cutover', 'config.yaml');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('token-env: HERE_TOKEN');
    const listed = JSON.parse((await run(['config', 'get-contexts', '-o', 'json'])).stdout);
    expect(listed).toEqual({
      currentContext: 'here',
      contexts: [
        { name: 'here', url, token: 'from HERE_TOKEN', current: true },
        { name: 'elsewhere', url: 'http://127.0.0.1:9', token: 'inline', current: false },
      ],
    });
    // the token from the variable the context names
    expect((await run(['whoami'], { HERE_TOKEN: TOKENS.approver })).stdout).toBe(`approver (approver) at ${url}\n`);
    const unset = await run(['whoami']);
    expect(unset.stderr).toContain("no token (no bearer token: send the header Authorization: Bearer <token>): HERE_TOKEN (token-env of context 'here'");
    expect(unset.stderr).toContain('is not set; set it, or set CUTOVER_TOKEN');
    expect((await run(['config', 'use-context', 'elsewhere'])).stdout).toBe("switched to context 'elsewhere'\n");
    // the current context's URL is refused by fetch; CUTOVER_URL and CUTOVER_TOKEN win over the context
    expect((await run(['whoami'])).stderr).toContain("the URL came from context 'elsewhere'");
    expect((await run(['whoami'], { CUTOVER_URL: url })).stdout).toBe(`viewer (viewer) at ${url}\n`);
    expect((await run(['whoami', '--context', 'here'], { HERE_TOKEN: TOKENS.operator })).stdout).toBe(`operator (operator) at ${url}\n`);
    const unknown = await run(['config', 'use-context', 'nowhere']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toContain("no context 'nowhere'");
    expect(unknown.stderr).toContain('(known: here, elsewhere)');
  });
});

describe('watch', () => {
  test('on a terminal: one frame redrawn in place while the upgrade runs, exit 0 when it succeeds', async () => {
    const hold = world.hold(T.tty, 'drainBlue');
    const id = startedId((await cutover(url, ['upgrade', T.tty, '5.8.0'])).stdout);
    const term = await Terminal.open([process.execPath, CUTOVER, 'watch', id, '--interval', '200ms'], cliEnv(url, { as: 'viewer' }));
    try {
      const during = await eventually(async () => {
        const screen = await term.screen();
        return screen.includes('▶drainBlue') && screen;
      });
      expect(during).toContain(`${id}  emqx 1.0.0 -> 5.8.0  RUNNING`);
      expect(during).toContain('✓plan ✓prepare ✓deployGreen ✓waitReady ✓verify ✓gate ✓promote ▶drainBlue ·standBy ⛔·finalize ·cleanUpBlue');
      expect(during).toMatch(/green +\S+ +5\.8\.0 +SERVING +100%/);
      expect(during).toContain('⛔ finalize is the point of no return: not passed: rollback possible');
      hold.release();
      const end = await eventually(async () => {
        const screen = await term.screen();
        return screen.includes('[exit 0]') && screen;
      });
      expect(end).toContain(`${id}  emqx 1.0.0 -> 5.8.0  SUCCEEDED`);
      const oneFrame = (screen: string) => screen.split('\n').filter((l) => l.startsWith(`${id}  emqx`)).length;
      expect([oneFrame(during), oneFrame(end)]).toEqual([1, 1]);
      // redrawn in place: the whole output holds one frame (one header, one footer), not one per change
      const all = await term.scrollback();
      expect(all.split('\n').filter((l) => l.startsWith(`${id}  emqx`))).toHaveLength(1);
      expect(all.split('\n').filter((l) => l.includes(`following ${id}`))).toHaveLength(1);
    } finally {
      await term.close();
    }
  });

  test('in a pipe: one line per change, --output json one state per line', async () => {
    const hold = world.hold(T.pipe, 'drainBlue');
    const id = startedId((await cutover(url, ['upgrade', T.pipe, '5.8.0'])).stdout);
    const seen = { lines: '', json: '' };
    const watching = Promise.all([
      cutover(url, ['watch', id, '--interval', '100ms'], { as: 'viewer', onStdout: (out) => (seen.lines = out) }),
      cutover(url, ['watch', id, '-o', 'json', '--interval', '100ms'], { as: 'viewer', onStdout: (out) => (seen.json = out) }),
    ]);
    await eventually(async () => hold.started());
    // both have printed the held step before it goes on
    await eventually(async () => seen.lines.includes('RUNNING | drainBlue') && seen.json.includes('"step":"drainBlue"'), 60_000);
    hold.release();
    const [lines, json] = await watching;
    expect(lines.code).toBe(EXIT.ok);
    const changes = lines.stdout.trim().split('\n');
    expect(changes.every((l) => /^\d{4}-\d\d-\d\dT\S+ (RUNNING|SUCCEEDED) \| /.test(l))).toBe(true);
    expect(new Set(changes.map((l) => l.slice(25))).size).toBe(changes.length);
    expect(changes.some((l) => l.includes('RUNNING | drainBlue'))).toBe(true);
    expect(changes.at(-1)).toContain('SUCCEEDED | cleanUpBlue');
    const states = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(states.at(-1)).toMatchObject({ upgradeId: id, status: 'SUCCEEDED' });
    expect(json.code).toBe(EXIT.ok);
  });
});
