/**
 * The projection kind as people configure it: where a target's event store
 * and its releases' databases are (config file, secrets by reference), and
 * how an upgrade decides that green has caught up (`options.projection`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptionalDuration as ms } from '../duration';
import { Duration, SecretRef } from '../schemas';
import { DEFAULT_PROCESSOR_TEMPLATE } from './naming';
import { completeProjectionSettings, type ProjectionSettings } from './settings';
import { CatchUpSource } from './source';

export const ProjectionAccess = Type.Object(
  {
    catchUp: CatchUpSource,
    eventStoreUrl: Type.Optional(Type.Object({ ...SecretRef.properties }, { additionalProperties: false, description: "a postgres:// URL of the event store's database (SQL sources)" })),
    databasesUrl: Type.Object({ ...SecretRef.properties }, { additionalProperties: false, description: 'a postgres:// URL of a role that may create databases and roles where the releases keep their read models' }),
    rolePasswordSecret: Type.Object({ ...SecretRef.properties }, { additionalProperties: false, description: "a secret the releases' role passwords are derived from" }),
    processorName: Type.Optional(Type.String({ minLength: 1, default: DEFAULT_PROCESSOR_TEMPLATE, description: 'the event-processor name of a release ({target} and {release} are filled in)' })),
  },
  { additionalProperties: false },
);
export type ProjectionAccess = Static<typeof ProjectionAccess>;

export const ProjectionOptions = Type.Object(
  {
    maxLag: Type.Optional(Type.Integer({ minimum: 0, description: 'events behind the head at which green counts as caught up (default 100)' })),
    hold: Type.Optional(Duration),
    stallAfter: Type.Optional(Duration),
    stallTimeout: Type.Optional(Duration),
    poll: Type.Optional(Duration),
  },
  {
    additionalProperties: false,
    description:
      'When green has caught up: lag at or below maxLag for `hold` (default 10s); no progress for `stallAfter` (30s) is reported as a stall, ' +
      'for `stallTimeout` (10m) fails waitReady; the catch-up is read every `poll` (5s)',
  },
);
export type ProjectionOptions = Static<typeof ProjectionOptions>;

/** options.<kind> (its layers merged) as the workflow gets it: every setting, durations in milliseconds. */
export function toProjectionSettings(o: ProjectionOptions): ProjectionSettings {
  return completeProjectionSettings({ maxLag: o.maxLag, holdMs: ms(o.hold), stallAfterMs: ms(o.stallAfter), stallTimeoutMs: ms(o.stallTimeout), pollMs: ms(o.poll) });
}
