/**
 * A sandbox EMQX upgrade (3 nodes at 5.7.0 behind nginx, the shipped
 * workflow, 12 MQTT clients) steered the way people steer it: started with
 * `cutover upgrade --wait`, followed in a terminal by `cutover watch` (the
 * EMQX panel with blue's evacuations), and in the web console in headless
 * Chromium, where an approver signs in, follows it to its gate, approves it
 * and sees it succeed, while a viewer sees the same page without a button;
 * before it starts, an operator previews it on the console's start page.
 * Screenshots go to .data/test/console/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser, Page } from 'playwright-core';
import { buildServer } from '../../src/api/server';
import { EXIT } from '../../src/cli/exitCodes';
import { releaseName } from '../../src/domain/upgrade';
import { projectRoot } from '../../src/runtime/binaries';
import { TOKENS, testConfig, type Who } from '../api/harness';
import { CUTOVER, cliEnv, cutover, listen } from '../cli/harness';
import { Terminal } from '../cli/tmux';
import { connect, endClients } from '../support/emqxSandbox';
import { startLocalStack, type LocalStack } from '../support/localStack';
import { connectSharedServer, eventually } from '../support/temporal';
import { launchChromium } from './browser';

const SHOTS = join(projectRoot, '.data', 'test', 'console');

let env: TestWorkflowEnvironment;
let stack: LocalStack | undefined;
let app: FastifyInstance | undefined;
let browser: Browser | undefined;
let term: Terminal | undefined;
const cliRuns = new AbortController();

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // the console as its sources are now (the bootstrap builds it only when they changed)
  await promisify(execFile)('npm', ['run', 'build:console'], { cwd: projectRoot });
  env = await connectSharedServer();
}, 60_000);
afterAll(async () => {
  cliRuns.abort();
  await term?.close();
  await browser?.close();
  await endClients();
  await app?.close();
  await stack?.stop();
  await env?.teardown();
});

async function signIn(who: Who, url: string): Promise<Page> {
  const page = await (await browser!.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
  await page.goto(`${url}/ui/`);
  await page.getByLabel('API token').fill(TOKENS[who]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('me').waitFor();
  return page;
}

test('an approver follows a sandbox upgrade to its gate in the console and approves it; cutover --wait exits 0; watch shows the evacuations; a viewer sees no button', async () => {
  stack = await startLocalStack(env, 'console');
  const { name, target } = stack;
  app = await buildServer({ client: env.client, config: testConfig([target], stack.taskQueue) });
  const url = await listen(app);
  const mqttUrl = `mqtt://127.0.0.1:${target.local!.ports.mqtt}`;
  for (let i = 0; i < 12; i++) await connect(mqttUrl, { clientId: `console-${i}` });
  browser = await launchChromium();

  // an operator previews the upgrade before its start button: the steps, the gate and who may approve it, nothing started
  const lead = await signIn('lead', url);
  await lead.getByRole('link', { name: 'Start an upgrade' }).click();
  await lead.getByLabel('Version').fill('5.8.0');
  await lead.getByLabel('Options (JSON)').fill('{"approval": "manual", "standbyWindow": "2s"}');
  await expect(lead.getByRole('button', { name: 'Start' }).isDisabled()).resolves.toBe(true);
  await lead.getByRole('button', { name: 'Preview' }).click();
  const preview = lead.getByTestId('preview');
  await preview.getByText(`Preview: ${name} (emqx) from 5.7.0 to 5.8.0, as lead would start it; nothing started`).waitFor();
  await preview.getByTestId('section-Gates').getByRole('cell', { name: 'promote', exact: true }).waitFor();
  await preview.getByTestId('section-Capacity').getByText(/^6 at once: blue's 3 and green's 3/).waitFor();
  await expect(lead.getByRole('button', { name: 'Start' }).isEnabled()).resolves.toBe(true);
  await lead.screenshot({ path: join(SHOTS, 'preview.png'), fullPage: true });
  await lead.close();

  const upgrading = cutover(
    url,
    ['upgrade', name, '5.8.0', '--reason', 'console test', '--wait', '--option', 'approval=manual', '--option', 'standbyWindow=2s', '--options-file', join(__dirname, 'slowEvacuation.yaml')],
    { as: 'lead', signal: cliRuns.signal },
  );
  const approver = await signIn('approver', url);
  // the targets, with what serves each as its platform runs it
  await approver.getByTestId(`serving-${name}`).getByText(`${releaseName(name, '5.7.0')} (5.7.0) 100%`).waitFor();
  await approver.screenshot({ path: join(SHOTS, 'targets.png') });

  // the upgrades, filtered by status, to the one at its gate
  await approver.getByRole('link', { name: 'Upgrades' }).click();
  await approver.getByLabel('Status').selectOption('AWAITING_APPROVAL');
  await approver.getByRole('link', { name: new RegExp(`^${name}\\.`) }).click({ timeout: 90_000 });
  await approver.getByTestId('status').getByText('AWAITING_APPROVAL').waitFor();
  const gates = approver.getByTestId('gates');
  await gates.getByText('waiting: green is ready and verified').waitFor();
  // the evidence beside the buttons: the cluster as verify found it, every node a running member
  await gates.getByTestId('section-EMQX nodes').getByText('running').first().waitFor();
  await expect(approver.getByRole('link', { name: 'the run in the Temporal UI' }).getAttribute('href')).resolves.toMatch(/\/namespaces\/default\/workflows\/upgrade-/);
  await approver.screenshot({ path: join(SHOTS, 'gate.png'), fullPage: true });

  const viewer = await signIn('viewer', url);
  await viewer.goto(approver.url());
  await viewer.getByTestId('gates').getByText('waiting: green is ready and verified').waitFor();
  expect(await viewer.getByTestId('gates').getByRole('button').count()).toBe(0);

  term = await Terminal.open([process.execPath, CUTOVER, 'watch', name, '--interval', '300ms'], cliEnv(url, { as: 'viewer' }), { columns: 160, rows: 70 });

  // an approver is no operator: Approve only
  expect(await gates.locator('.actions').getByRole('button').allTextContents()).toEqual(['Approve']);
  // a notification's approve link opens the form at once
  await approver.goto(`${approver.url()}?action=approve`);
  await gates.getByLabel(/Why approve/).fill('green verified, 12 clients connected');
  await gates.getByRole('button', { name: 'Confirm approve' }).click();
  await gates.getByText('approve accepted (by approver)').waitFor();

  // the terminal: blue's nodes with their evacuation as EMQX reports it, drawn from the state's details
  const draining = await eventually(async () => {
    const screen = await term!.screen();
    return /blue 5\.7\.0 +emqx@\S+ +\S+ +running +(evicting_conns|waiting_takeover|evicting_sessions|prohibiting) +\d+ \/ \d+/.test(screen) && screen;
  }, 90_000);
  expect(draining).toContain('EMQX nodes');
  expect(draining).toMatch(/green 5\.8\.0 +emqx@\S+ +\S+ +running/);

  await approver.getByTestId('status').getByText('SUCCEEDED').waitFor({ timeout: 120_000 });
  await approver.screenshot({ path: join(SHOTS, 'succeeded.png'), fullPage: true });
  // the phase machine of both releases: where each is, and what each went through
  const phases = async (role: string, which: string) => approver.getByTestId(`phases-${role}`).locator(`td.${which}`).evaluateAll((tds) => tds.map((td) => td.getAttribute('data-phase')));
  expect(await phases('green', 'current')).toEqual(['SERVING']);
  expect(await phases('green', 'visited')).toEqual(['SCHEDULED', 'INITIALISING']);
  expect(await phases('blue', 'current')).toEqual(['OBSOLETE']);
  expect(await phases('blue', 'visited')).toEqual(['STANDING_BY', 'CLEANING_UP']);
  await approver.getByText(`approved: green verified, 12 clients connected`).waitFor();
  expect(await viewer.getByRole('button', { name: /Approve|Roll back|Abort/ }).count()).toBe(0);

  const cli = await upgrading;
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(EXIT.ok);
  expect(cli.stdout).toMatch(/ended SUCCEEDED\n$/);
  expect(cli.stdout).toMatch(/AWAITING_APPROVAL \| gate/);
  expect(cli.stdout).toMatch(/RUNNING \| drainBlue \d+% \| .*\| evacuating emqx@\S+: evicting_conns/);
  const finished = await eventually(async () => {
    const screen = await term!.screen();
    return screen.includes('[exit 0]') && screen;
  });
  expect(finished).toMatch(/blue 5\.7\.0 +emqx@\S+ +\S+ +\S+ +prohibiting +0 \/ \d+/);
  // the target as its platform runs it now: green alone, serving everything, no orphan
  const releases = await cutover(url, ['targets', name], { as: 'viewer' });
  expect(releases.stdout).toMatch(new RegExp(`${releaseName(name, '5.8.0')} +5\\.8\\.0 +100% +serving +${name}\\.`));
  expect(releases.stdout).not.toContain(releaseName(name, '5.7.0'));
}, 240_000);
