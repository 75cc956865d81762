/** The Kong kind's module: what the registry knows of it. */
import type { KindModule } from '../kindModule';
import { previewKong } from './preview';
import { KongAccess, KongOptions, toKongSettings } from './schema';
import { completeKongSettings } from './settings';
import { kongVersionProblem } from './versions';

/** Between traffic steps: the new version's own error rate and p99 latency, from its gateways' counters. */
const ANALYSED = ['error-rate', 'latency'];

export const kongKind = {
  kind: 'kong',
  description: "Kong gateway on a shared PostgreSQL: 'migrations up', the new cluster beside the old, traffic in weighted steps under analysis, 'migrations finish' after approval",
  access: KongAccess,
  options: KongOptions,
  toSettings: toKongSettings,
  preview: previewKong,
  completeSettings: completeKongSettings,
  // Kong 3.4 LTS to 3.9; blue's version is checked at plan
  versionProblem: (version: string) => kongVersionProblem(version, 'green'),
  // Kong's runbook: divert traffic gradually, watch the proxy metrics, and let a person say yes before 'finish'.
  defaults: {
    traffic: [
      { weight: 10, pause: '10s', analysis: ANALYSED },
      { weight: 50, pause: '10s', analysis: ANALYSED },
      { weight: 100 },
    ],
    approveBefore: ['finalize'],
    analysis: [
      { name: 'error-rate', provider: 'kong', query: 'error-rate@{{green}}[5s]', interval: '5s', count: 2, successCondition: 'result < 0.01' },
      { name: 'latency', provider: 'kong', query: 'latency-p99@{{green}}[5s]', interval: '5s', count: 2, successCondition: 'result < 1000' },
    ],
  },
  sandboxUpgrade: {
    version: '3.9.0',
    options: { approval: 'auto', standbyWindow: '10s', kong: { smoke: [{ method: 'GET', path: '/health', status: 200 }] } },
    note:
      "traffic moves 10%, 50%, 100% under analysis of green's error rate and latency; without requests the analysis has no data and waits for your approve at each step " +
      "(npm run demo -- --target sandbox-kong sends load); before 'kong migrations finish' it waits for your approve",
  },
  // proxy: nginx in front of the nodes; admin: the Admin API behind the freeze router; status: nginx stub_status; the database; the echo upstream.
  localPorts: ['proxy', 'admin', 'status', 'postgres', 'upstream'],
} as const satisfies KindModule;
