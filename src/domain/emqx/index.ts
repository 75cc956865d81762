/** The EMQX kind's module: what the registry knows of it. */
import type { KindModule } from '../kindModule';
import { previewEmqx } from './preview';
import { EmqxAccess, EmqxOptions, toEmqxSettings } from './schema';
import { completeEmqxSettings } from './settings';
import { versionProblem } from './versions';

export const emqxKind = {
  kind: 'emqx',
  description: 'EMQX MQTT broker cluster: green nodes join the cluster, then blue nodes are evacuated at a set rate',
  access: EmqxAccess,
  options: EmqxOptions,
  toSettings: toEmqxSettings,
  preview: previewEmqx,
  completeSettings: completeEmqxSettings,
  // The support matrix: plan checks blue's version and edition against it too.
  versionProblem,
  sandboxUpgrade: {
    version: '5.8.0',
    options: { approval: 'auto', standbyWindow: '30s', emqx: { connEvictRate: 50, sessEvictRate: 50, waitTakeover: '5s', waitHealthCheck: '2s', initialDelay: '5s' } },
  },
  localPorts: ['mqtt', 'api', 'status'],
  // the node being evacuated: state, connections and sessions left, from waitEvacuated's last heartbeat
  liveDetails: { activity: 'waitEvacuated', key: 'evacuating' },
} as const satisfies KindModule;
