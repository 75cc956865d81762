/**
 * Kong's answers as Kong 3.4 to 3.9 print them (TypeBox schemas, pure), each
 * from its source in Kong/kong; cutover reads every answer of Kong's through
 * kongAnswer, so a Kong that answers otherwise fails with a message naming
 * Kong, its version, the field and what was found, never a TypeError. The
 * contract fixtures (test/fixtures/contracts/kong/) hold real answers.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { kongFeatures, parseKongVersion } from './versions';

const Name = Type.String({ minLength: 1 });
const bySubsystem = <T extends TSchema>(migration: T) =>
  Type.Array(Type.Object({ subsystem: Name, namespace: Name, migrations: Type.Array(migration, { minItems: 1 }) }), { minItems: 1 });

/**
 * `kong migrations status` (kong/cmd/migrations.lua status branch,
 * kong/db/migrations/state.lua State.load): a list is absent when empty; the
 * status branch reduces new, pending and executed to names, while a missing
 * migration is printed as loaded ({name, postgres: {up}}).
 */
export const MigrationsStatus = Type.Object({
  needs_bootstrap: Type.Boolean(),
  executed_migrations: Type.Optional(bySubsystem(Name)),
  pending_migrations: Type.Optional(bySubsystem(Name)),
  new_migrations: Type.Optional(bySubsystem(Name)),
  missing_migrations: Type.Optional(bySubsystem(Type.Object({ name: Name }))),
});
export type MigrationsStatus = Static<typeof MigrationsStatus>;

/** `kong migrations list` (kong/cmd/migrations.lua): 0 up to date, 3 needs bootstrap, 4 pending, 5 new; 1 on an error (kong/cmd/init.lua). */
export const ListExitCode = Type.Union([0, 1, 3, 4, 5].map((n) => Type.Literal(n)));

const Count = Type.Integer({ minimum: 0 });

/**
 * GET /status (kong/api/routes/health.lua; server from kong.nginx.get_statistics):
 * `database` in traditional mode, `configuration_hash` instead in DB-less mode
 * and on a data plane; 200 even when the database is down.
 */
export const NodeStatus = Type.Object({
  memory: Type.Object({ workers_lua_vms: Type.Unknown(), lua_shared_dicts: Type.Unknown() }),
  server: Type.Object({
    connections_active: Count,
    connections_reading: Count,
    connections_writing: Count,
    connections_waiting: Count,
    connections_accepted: Count,
    connections_handled: Count,
    total_requests: Count,
  }),
  database: Type.Optional(Type.Object({ reachable: Type.Boolean() })),
  configuration_hash: Type.Optional(Type.String()),
});
export type NodeStatus = Static<typeof NodeStatus>;

/** GET /status/ready (kong/status/ready.lua, 3.3+): 200 {"message":"ready"} or 503 with the reason; also 405 and 404 bodies. */
export const Message = Type.Object({ message: Type.String() });

/** GET / on the Admin API (kong/api/routes/kong.lua); `edition` from 3.6. */
export const AdminRoot = Type.Object({
  tagline: Type.String(),
  version: Name,
  edition: Type.Optional(Type.Union([Type.Literal('community'), Type.Literal('enterprise')])),
  hostname: Type.String(),
  node_id: Type.String(),
  timers: Type.Object({ running: Count, pending: Count }),
  plugins: Type.Object({ available_on_server: Type.Record(Type.String(), Type.Unknown()), enabled_in_cluster: Type.Array(Type.String()) }),
  lua_version: Type.String(),
  configuration: Type.Record(Type.String(), Type.Unknown()),
  pids: Type.Object({ master: Count, workers: Type.Optional(Type.Array(Count)) }),
});

/**
 * The Prometheus plugin's config as the plugins table holds it
 * (kong/plugins/prometheus/schema.lua; ai_metrics from 3.8): per-status
 * metrics only with status_code_metrics, latency histograms only with
 * latency_metrics (kong/plugins/prometheus/handler.lua), both off by default.
 */
export const PrometheusConfig = Type.Object({
  per_consumer: Type.Optional(Type.Boolean()),
  status_code_metrics: Type.Optional(Type.Boolean()),
  latency_metrics: Type.Optional(Type.Boolean()),
  bandwidth_metrics: Type.Optional(Type.Boolean()),
  upstream_health_metrics: Type.Optional(Type.Boolean()),
  ai_metrics: Type.Optional(Type.Boolean()),
});
export type PrometheusConfig = Static<typeof PrometheusConfig>;

/**
 * The labels of kong_http_requests_total and of kong_request_latency_ms's
 * buckets (kong/plugins/prometheus/exporter.lua): `workspace` from 3.7.
 */
export function metricLabels(version: string): { requests: TSchema; latencyBucket: TSchema } {
  const v = parseKongVersion(version);
  const route: Record<string, TSchema> = { service: Type.String(), route: Type.String() };
  if (v && kongFeatures(v).metricsWorkspaceLabel) route.workspace = Type.String();
  return {
    requests: Type.Object(
      { ...route, code: Type.String({ pattern: '^[1-5][0-9][0-9]$' }), source: Type.Union([Type.Literal('service'), Type.Literal('kong')]), consumer: Type.String() },
      { additionalProperties: false },
    ),
    latencyBucket: Type.Object({ ...route, le: Type.String() }, { additionalProperties: false }),
  };
}

/** An answer of Kong's that is not what Kong prints. */
export class KongAnswerError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** The answer, typed, once the schema says it is what Kong prints; else a KongAnswerError that names Kong, the version, the field and what was found. */
export function kongAnswer<T extends TSchema>(schema: T, value: unknown, what: { answer: string; version?: string }): Static<T> {
  const error = Value.Errors(schema, value).First();
  if (!error) return value as Static<T>;
  const field = error.path.replace(/^\//, '').replaceAll('/', '.') || 'the answer';
  const found = error.value === undefined ? 'nothing' : JSON.stringify(error.value).slice(0, 120);
  const kong = what.version ? `Kong ${what.version}` : 'Kong';
  throw new KongAnswerError(`${kong} answered ${what.answer} with ${field}: ${found} (${error.message.toLowerCase()}), not as ${kong} writes it`, field);
}
