/**
 * Cancel from the Temporal CLI is an abort: an EMQX upgrade of a local
 * sandbox waiting at the approval gate, cancelled with
 * `temporal workflow cancel`, rolls back: green's nodes are gone, nginx sends
 * MQTT to blue, the sandbox state file lists blue only, and the API shows
 * ROLLED_BACK, by temporal at the CLI's request.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { buildServer } from '../../../../src/api/server';
import { releaseName, upgradeWorkflowId, type UpgradeState } from '../../../../src/domain/upgrade';
import { temporalCliPath } from '../../../../src/runtime/binaries';
import { portIsFree } from '../../../../src/runtime/freePort';
import type { LocalState } from '../../../../src/domain/platform';
import { stateQuery } from '../../../../src/workflows/messages';
import { testConfig, TOKENS } from '../../../api/harness';
import { eventually, sharedServerAddress, sharedServerForFile, upgradeInput } from '../../../support/temporal';
import { routedMqttPorts } from '../../../support/emqxSandbox';
import { startLocalStack } from '../../../support/localStack';

const FAST = { connEvictRate: 100, sessEvictRate: 100, waitTakeoverMs: 0, waitHealthCheckMs: 0, initialDelayMs: 100, drainIntervalMs: 500 };

const file = sharedServerForFile();

test('temporal workflow cancel at the gate: green gone, nginx on blue, the state file lists blue only, the API shows ROLLED_BACK and who cancelled', async () => {
  const stack = await startLocalStack(file.env, 'cancel');
  file.cleanups.push(() => stack.stop());
  const { env } = file;
  const { name, sandbox, taskQueue, target } = stack;
  const app = await buildServer({ client: env.client, config: testConfig([target], taskQueue) });
  const h = await env.client.workflow.start('blueGreenUpgrade', {
    taskQueue,
    workflowId: upgradeWorkflowId(name),
    args: [upgradeInput({ kind: 'emqx', target: name, version: '5.8.0', settings: { emqx: FAST }, options: { approval: 'manual', maxAttempts: 3 } })],
  });
  await eventually(async () => ((await h.query(stateQuery)) as UpgradeState).status === 'AWAITING_APPROVAL', 60_000);
  const blue = releaseName(name, '5.7.0');
  const green = releaseName(name, '5.8.0');
  const before = JSON.parse(readFileSync(stack.stateFile, 'utf8')) as LocalState;
  expect(Object.keys(before.releases).sort()).toEqual([blue, green]);
  const greenPorts = before.releases[green]!.ports.flatMap((p) => Object.values(p));

  const cancel = spawnSync(temporalCliPath(), ['workflow', 'cancel', '--workflow-id', upgradeWorkflowId(name), '--address', sharedServerAddress()], { encoding: 'utf8' });
  expect(cancel.status).toBe(0);

  const id = `${name}.${h.firstExecutionRunId}`;
  const shown = await eventually(async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/upgrades/${id}`, headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    const body = res.json() as UpgradeState;
    return ['ROLLED_BACK', 'FAILED', 'SUCCEEDED'].includes(body.status) && body;
  }, 60_000);
  expect(shown.status).toBe('ROLLED_BACK');
  // who cancelled: the CLI's identity, as Temporal recorded it
  const cli = `temporal-cli:${userInfo().username}@${hostname()}`;
  expect(shown.transitions).toContainEqual(expect.objectContaining({ what: 'status', to: 'ROLLED_BACK', by: 'temporal', why: expect.stringContaining(`Temporal cancellation requested by ${cli}`) }));
  expect(shown.releases).toMatchObject({ blue: { phase: 'SERVING' }, green: { phase: 'OBSOLETE' } });

  const after = JSON.parse(readFileSync(stack.stateFile, 'utf8')) as LocalState;
  expect(Object.keys(after.releases)).toEqual([blue]);
  expect(after.service).toBe(blue);
  expect(sandbox.pods(green)).toEqual([]);
  for (const port of greenPorts) expect(await portIsFree(port)).toBe(true);
  const blueMqtt = after.releases[blue]!.ports.map((p) => p.mqtt!).sort((a, b) => a - b);
  expect(await routedMqttPorts(sandbox)).toEqual(blueMqtt);
  await app.close();
}, 120_000);
