/**
 * The Kong kind as people configure it: how the worker reaches a target's
 * database and nodes (config file, `kong:` block; secrets by reference), and
 * the upgrade's own settings (`options.kong`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN, parseOptionalDuration } from '../duration';
import { Duration, SecretRef } from '../schemas';
import { completeKongSettings, type KongSettings } from './settings';

export const KongAccess = Type.Object(
  {
    database: Type.Object(
      {
        host: Type.String({ minLength: 1, description: 'PostgreSQL host of the Kong database' }),
        port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 5432 })),
        database: Type.Optional(Type.String({ minLength: 1, default: 'kong' })),
        user: Type.String({ minLength: 1 }),
        password: SecretRef,
        passwordSecret: Type.Optional(
          Type.Object(
            { name: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) },
            { additionalProperties: false, description: 'Kubernetes: the Secret (name, key) the migration Jobs read KONG_PG_PASSWORD from (default: <target>-kong-database, key password)' },
          ),
        ),
      },
      { additionalProperties: false, description: "Kong's database (pg_host, pg_port, pg_database, pg_user, pg_password)" },
    ),
    image: Type.Optional(Type.String({ minLength: 1, default: 'kong/kong-gateway', description: 'image repository of the migration Jobs on Kubernetes; the tag is the version' })),
    nodePorts: Type.Optional(
      Type.Object(
        { proxy: Type.Integer({ minimum: 1, maximum: 65535 }), status: Type.Integer({ minimum: 1, maximum: 65535 }) },
        { additionalProperties: false, description: "Kubernetes: each Kong pod's proxy and status listener ports (default 8000 and 8100)" },
      ),
    ),
    backupDir: Type.Optional(
      Type.String({ minLength: 1, description: "where the worker writes the pg_dump taken before 'migrations up' (default: CUTOVER_BACKUP_DIR, else backups under CUTOVER_DATA_DIR)" }),
    ),
    backupRetention: Type.Optional(
      Type.Object(
        {
          keep: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "the target's backups kept at most (default 10)" })),
          maxAge: Type.Optional(Type.String({ pattern: DURATION_PATTERN, description: 'a duration such as 30d: older backups are removed (default 30d)' })),
        },
        { additionalProperties: false, description: "after each backup, the target's older ones past these are removed (this upgrade's never)" },
      ),
    ),
  },
  { additionalProperties: false },
);
export type KongAccess = Static<typeof KongAccess>;

export const SmokeRequest = Type.Object(
  {
    method: Type.Optional(Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)), { default: 'GET' })),
    path: Type.String({ pattern: '^/', description: 'a proxy path such as /orders/health' }),
    status: Type.Integer({ minimum: 100, maximum: 599, description: 'the status code the new version must answer' }),
  },
  { additionalProperties: false },
);
export type SmokeRequest = Static<typeof SmokeRequest>;

export const KongOptions = Type.Object(
  {
    finishPending: Type.Optional(
      Type.Boolean({ description: "finish migrations left pending by an earlier upgrade (with the serving version) before this one's 'up'; without it such an upgrade is refused at plan" }),
    ),
    backup: Type.Optional(Type.Boolean({ description: "take a pg_dump of the database before 'migrations up' (default true)" })),
    smoke: Type.Optional(Type.Array(SmokeRequest, { maxItems: 50, description: 'requests the new version must answer as expected, through its own nodes, before any traffic' })),
    // how long cleanUpBlue waits for the requests on each old node to end before removing it anyway (default 90s)
    drainTimeout: Type.Optional(Duration),
  },
  { additionalProperties: false, description: "Kong's blue-green runbook: pending migrations, the backup, smoke requests, the drain of the old nodes" },
);
export type KongOptions = Static<typeof KongOptions>;

/** options.<kind> (its layers merged) as the workflow gets it: every setting, durations in milliseconds. */
export function toKongSettings(o: KongOptions): KongSettings {
  return completeKongSettings({
    finishPending: o.finishPending,
    backup: o.backup,
    smoke: o.smoke?.map((s) => ({ method: s.method ?? 'GET', path: s.path, status: s.status })),
    drainTimeoutMs: parseOptionalDuration(o.drainTimeout),
  });
}
