/** The projection kind's module: what the registry knows of it. */
import type { KindModule } from '../kindModule';
import { previewProjection } from './preview';
import { WATCH_CATCH_UP } from './catchUp';
import { ProjectionAccess, ProjectionOptions, toProjectionSettings } from './schema';
import { completeProjectionSettings } from './settings';

export const projectionKind = {
  kind: 'projection',
  description: 'event-sourced service: green rebuilds its own read model from the event store, takes over once caught up and ready, blue stands by',
  access: ProjectionAccess,
  options: ProjectionOptions,
  toSettings: toProjectionSettings,
  preview: previewProjection,
  completeSettings: completeProjectionSettings,
  // the service itself says when its projection is built and its self-tests pass
  defaults: { waitForReadyReport: true },
  localPorts: ['query', 'postgres', 'status'],
  // lag, rate, ETA and stall of green's replay, from the watch's last heartbeat
  liveDetails: { activity: WATCH_CATCH_UP, key: 'catchUp' },
  sandboxUpgrade: { version: '2.0.0', options: { approval: 'auto', standbyWindow: '2m', projection: { poll: '1s', hold: '3s', maxLag: 500 } } },
} as const satisfies KindModule;
