/**
 * Bench section "emqxRollback": a rollback asked for during the EMQX standby
 * window, on the local sandbox of npm start (3 sandbox EMQX nodes behind
 * nginx, the shipped workflow and real activities, a dev server of its own).
 * Each run upgrades 5.7.0 -> 5.8.0 up to standBy, then asks for a rollback and
 * measures the time from the request to nginx serving blue: its workers run a
 * config whose MQTT upstream is blue's nodes, and a new MQTT client through
 * nginx is accepted (blue's evacuations stopped). BENCH_ROLLBACK_RUNS (10).
 */
import mqtt from 'mqtt';
import type { UpgradeState } from '../src/domain/upgrade';
import { rollbackUpdate, stateQuery } from '../src/workflows/messages';
import { routedMqttPorts } from '../test/support/emqxSandbox';
import { withLocalEmqx } from './localEmqx';
import { latency, type BenchSection } from './section';
import { signedUpdate } from '../test/support/steering';

const RUNS = Number(process.env.BENCH_ROLLBACK_RUNS ?? 10);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(): Promise<Record<string, unknown>> {
  const toBlue: number[] = [];
  const toAccepted: number[] = [];
  const outcomes: string[] = [];
  await withLocalEmqx('bench-emqx', async ({ sandbox, ports, upgrade }) => {
    const blue = await sandbox.read((s) => s.releases[s.service]!.ports.map((p) => p.mqtt!).sort((a, b) => a - b));
    for (let i = 0; i < RUNS; i++) {
      const h = await upgrade('5.8.0');
      for (;;) {
        const s = await h.query(stateQuery);
        if (s.step === 'standBy') break;
        if (!['RUNNING', 'AWAITING_APPROVAL'].includes(s.status)) throw new Error(`run ${i}: upgrade ${s.status} before the standby window: ${JSON.stringify(s.failure)}`);
        await sleep(100);
      }
      const t0 = performance.now();
      void signedUpdate(h, rollbackUpdate, { by: 'bench', reason: 'rollback in the standby window' });
      while (JSON.stringify(await routedMqttPorts(sandbox)) !== JSON.stringify(blue)) await sleep(5);
      toBlue.push(performance.now() - t0);
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { clientId: `bench-${i}`, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
      toAccepted.push(performance.now() - t0);
      await c.endAsync();
      outcomes.push(((await h.result()) as UpgradeState).status);
    }
  });
  return {
    runs: RUNS,
    outcomes: [...new Set(outcomes)],
    requestToNginxServingBlue: latency(toBlue),
    requestToNginxServingBlueEachRunMs: toBlue.map((ms) => Math.round(ms)),
    requestToNewClientAcceptedOnBlue: latency(toAccepted),
  };
}

export const emqxRollbackBench: BenchSection = { name: 'emqxRollback', run };
