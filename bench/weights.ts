/**
 * Bench section "weights": the time from a traffic step's decision to nginx
 * serving the step's weights, through the shipped workflow on the local
 * platform (the EMQX sandbox of npm start, nginx's weighted MQTT upstream).
 * Each upgrade runs the traffic plan green 10%, 50%, 90%, 100%; the versions
 * rise, so the green of one upgrade is the blue of the next. Beside it a
 * watcher asks nginx every few ms which config generation its workers run and
 * notes when they first run one whose upstream carries the step's weights.
 * Measured from the step's decision (its startedAt in the state: the workflow
 * task that decided it) and from the setWeights ActivityTaskScheduled event.
 * BENCH_WEIGHT_UPGRADES (6: 24 steps).
 */
import { tsToMs } from '@temporalio/common/lib/time';
import type { UpgradeState } from '../src/domain/upgrade';
import type { LocalSandbox } from '../src/sandbox/localSandbox';
import { routedMqttServers } from '../test/support/emqxSandbox';
import { withLocalEmqx } from './localEmqx';
import { latency, type BenchSection } from './section';

const UPGRADES = Number(process.env.BENCH_WEIGHT_UPGRADES ?? 6);
const PLAN = [10, 50, 90, 100];
const WATCH_MS = 2;

/** When nginx's workers first ran each MQTT upstream (ports and weights), as seen every WATCH_MS. */
class ServedConfigs {
  readonly seen: { at: number; servers: { port: number; weight: number }[] }[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(sandbox: LocalSandbox) {
    this.done = (async () => {
      let last = '';
      while (this.running) {
        const servers = await routedMqttServers(sandbox);
        // the wall clock, as the decision's time in the state is
        const at = Date.now();
        if (servers && JSON.stringify(servers) !== last) {
          last = JSON.stringify(servers);
          this.seen.push({ at, servers });
        }
        await new Promise((r) => setTimeout(r, WATCH_MS));
      }
    })();
  }

  /** The first config served from `after` on in which green's ports have `weight` percent of the upstream's weight. */
  firstServing(after: number, green: number[], weight: number): number | undefined {
    return this.seen.find(({ at, servers }) => {
      const total = servers.reduce((sum, s) => sum + s.weight, 0);
      const onGreen = servers.filter((s) => green.includes(s.port)).reduce((sum, s) => sum + s.weight, 0);
      return at >= after && Math.round((100 * onGreen) / total) === weight;
    })?.at;
  }

  stop(): Promise<void> {
    this.running = false;
    return this.done;
  }
}

async function run(): Promise<Record<string, unknown>> {
  const fromDecision: number[] = [];
  const fromScheduled: number[] = [];
  const missed: string[] = [];
  await withLocalEmqx('bench-weights', async ({ sandbox, upgrade }) => {
    const served = new ServedConfigs(sandbox);
    try {
      for (let i = 0; i < UPGRADES; i++) {
        const h = await upgrade(`5.8.${i}`, { standbyWindowMs: 100, traffic: PLAN.map((weight) => ({ weight, analysis: [] })) });
        const final = (await h.result()) as UpgradeState;
        if (final.status !== 'SUCCEEDED') throw new Error(`upgrade to 5.8.${i} ended ${final.status}: ${JSON.stringify(final.failure)}`);
        const green = await sandbox.read((s) => s.releases[final.releases.green!.name]!.ports.map((p) => p.mqtt!));
        const scheduled = (await h.fetchHistory()).events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'setWeights').map((e) => tsToMs(e.eventTime));
        for (const [n, step] of final.trafficSteps!.entries()) {
          // startedAt has whole ms: a config served in the same ms counts
          const decided = Date.parse(step.startedAt!);
          const at = served.firstServing(decided, green, step.weight);
          // served for less than a look at nginx takes: not measured, but counted
          if (at === undefined) missed.push(`5.8.${i} green ${step.weight}%`);
          else {
            fromDecision.push(at - decided);
            fromScheduled.push(at - scheduled[n]!);
          }
        }
      }
    } finally {
      await served.stop();
    }
  });
  return {
    what: `traffic step decided by the shipped workflow -> nginx's workers running the config with its weights (local EMQX sandbox, plan ${PLAN.join('/')} per upgrade)`,
    upgrades: UPGRADES,
    fromDecision: latency(fromDecision),
    fromSetWeightsScheduled: latency(fromScheduled),
    missed,
  };
}

export const weightsBench: BenchSection = { name: 'weights', run };
