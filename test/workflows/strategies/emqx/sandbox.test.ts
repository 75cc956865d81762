/**
 * The sandbox of `npm start` end to end: the shipped workflow with the real
 * activities (local platform + EMQX API through nginx) upgrades a 3-node
 * sandbox cluster from 5.7.0 to 5.8.0 while 50 MQTT clients with persistent
 * sessions publish QoS 1 through nginx.
 */
import { releaseName, upgradeWorkflowId, type UpgradeState } from '../../../../src/domain/upgrade';
import { runMqttLoad, type LoadSample } from '../../../../src/sandbox/load/mqttLoad';
import { SANDBOX_API_KEY, SANDBOX_API_SECRET } from '../../../../src/sandbox/emqx/launcher';
import { sharedServerForFile, upgradeInput } from '../../../support/temporal';
import { startLocalStack } from '../../../support/localStack';

/** 50 here; the README's figure is this test at SANDBOX_UPGRADE_CLIENTS=200. */
const CLIENTS = Number(process.env.SANDBOX_UPGRADE_CLIENTS ?? 50);
const FAST = { connEvictRate: 20, sessEvictRate: 20, waitTakeoverMs: 1000, waitHealthCheckMs: 1000, initialDelayMs: 500, drainIntervalMs: 500 };

const file = sharedServerForFile();

test('the shipped workflow upgrades a local sandbox 5.7.0 -> 5.8.0: SUCCEEDED, clients end on green, no QoS 1 message lost', async () => {
  const stack = await startLocalStack(file.env, 'sandbox');
  file.cleanups.push(() => stack.stop());
  const { env } = file;
  const { name, taskQueue } = stack;
  expect(stack.secrets).toEqual({ KEY: SANDBOX_API_KEY, SECRET: SANDBOX_API_SECRET });

  let started: Promise<UpgradeState> | undefined;
  const samples: LoadSample[] = [];
  const load = runMqttLoad({
    clients: CLIENTS,
    rate: CLIENTS,
    // A real client's reconnect: at once after losing the connection, CONNACK within 5 s or try again.
    reconnectPeriodMs: 200,
    urls: [`mqtt://127.0.0.1:${stack.target.local!.ports.mqtt}`],
    apiUrls: [stack.target.emqx!.apiUrl],
    apiKey: SANDBOX_API_KEY,
    apiSecret: SANDBOX_API_SECRET,
    durationSec: 40 + CLIENTS / 10,
    clientPrefix: name,
    onSample: (s) => {
      samples.push(s);
      // Start the upgrade once every client is connected and publishing.
      started ??= env.client.workflow
        .start('blueGreenUpgrade', {
          taskQueue,
          workflowId: upgradeWorkflowId(name),
          args: [upgradeInput({ kind: 'emqx', target: name, version: '5.8.0', settings: { emqx: FAST }, options: { approval: 'auto', standbyWindowMs: 1000, maxAttempts: 3 } })],
        })
        .then((h) => h.result() as Promise<UpgradeState>);
    },
  });
  const { summary } = await load;
  const final = await started!;

  expect(final.status).toBe('SUCCEEDED');
  expect(final.releases.green).toMatchObject({ name: releaseName(name, '5.8.0'), phase: 'SERVING' });
  expect(final.releases.blue).toMatchObject({ name: releaseName(name, '5.7.0'), phase: 'OBSOLETE' });
  const green = [0, 1, 2].map((i) => `emqx@${releaseName(name, '5.8.0')}-${i}`);
  expect((final.details.nodeEvacuationsStatus as { state: string }[]).map((e) => e.state)).toEqual(['prohibiting', 'prohibiting', 'prohibiting']);

  // Nothing lost; no client away for more than 2 s; the clients ended connected, all of them to green nodes.
  expect(summary.sent).toBeGreaterThan(0);
  expect(summary.lost).toBe(0);
  expect(summary.reconnects).toBeGreaterThanOrEqual(CLIENTS);
  expect(summary).toMatchObject({ awayOver2s: 0, connectedAtEnd: CLIENTS });
  expect(summary.maxAwayMs).toBeLessThanOrEqual(2000);
  const last = samples.at(-1)!;
  expect(last.connected).toBe(CLIENTS);
  expect(Object.keys(last.nodes!).sort()).toEqual(green);
  expect(Object.values(last.nodes!).reduce((a, b) => a + b, 0)).toBe(CLIENTS);
  process.stdout.write(`local sandbox upgrade: ${JSON.stringify(summary)}\n`);
}, 240_000);
