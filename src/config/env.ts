/**
 * The environment variables cutover reads, validated once at start: a bad
 * value stops the process with a message that names the variable and the fix.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError, typeboxProblems } from './schemaErrors';
import { loadTemporalConnection, type TemporalConnection } from './temporalConnection';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const LOG_LEVEL = {
  schema: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info' }),
  fix: `one of ${LOG_LEVELS.join(', ')}`,
};

/** Each variable with its default and what to write instead of a bad value. */
const VARIABLES = {
  TEMPORAL_ADDRESS: {
    schema: Type.Optional(Type.String({ pattern: '^[^\\s:/]+:[0-9]{1,5}$', description: 'host:port' })),
    fix: 'the Temporal frontend as host:port, e.g. temporal.example:7233, or unset it to run the embedded dev server',
  },
  TEMPORAL_NAMESPACE: { schema: Type.String({ minLength: 1, default: 'default' }), fix: 'a Temporal namespace name' },
  CUTOVER_TASK_QUEUE: { schema: Type.String({ minLength: 1, default: 'cutover' }), fix: 'the task queue the workers poll' },
  CUTOVER_API_HOST: { schema: Type.String({ minLength: 1, default: '127.0.0.1' }), fix: 'the address the API listens on, e.g. 0.0.0.0' },
  CUTOVER_API_PORT: {
    schema: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    fix: 'a port number from 0 to 65535, e.g. 8080',
  },
  CUTOVER_TEMPORAL_UI_URL: {
    schema: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+[^/\\s]$', description: 'an http(s) URL without a trailing slash' })),
    fix: 'the Temporal UI base URL for links, e.g. http://localhost:8233 (unset: the embedded dev server says where its UI is)',
  },
  CUTOVER_WORKER_METRICS: {
    schema: Type.Optional(Type.String({ pattern: '^[^\\s:/]+:[0-9]{1,5}$', description: 'host:port' })),
    fix: 'host:port where the worker serves Temporal SDK metrics for Prometheus, e.g. 0.0.0.0:9464',
  },
  CUTOVER_PROMETHEUS_URL: {
    schema: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+[^/\\s]$', description: 'an http(s) URL without a trailing slash' })),
    fix: 'the Prometheus that analysis checks query, e.g. http://prometheus.monitoring:9090 (unset: the embedded one that npm start runs)',
  },
  CUTOVER_DATA_DIR: {
    schema: Type.Optional(Type.String({ minLength: 1 })),
    fix: 'a directory for the embedded dev server\'s history and the sandbox (default: .data in the project)',
  },
  CUTOVER_CONFIG: { schema: Type.String({ minLength: 1, default: 'cutover.config.yaml' }), fix: 'the path of the configuration file' },
  CUTOVER_STEERING_KEYS: {
    schema: Type.Optional(Type.String({ minLength: 1 })),
    fix: '<id>:<secret>[,<id>:<secret>...], the key that signs first (see steeringKeys.ts); or name a file with CUTOVER_STEERING_KEYS_FILE',
  },
  CUTOVER_STEERING_KEYS_FILE: { schema: Type.Optional(Type.String({ minLength: 1 })), fix: 'the path of a file holding the steering keys (a mounted Secret)' },
  CUTOVER_BACKUP_DIR: {
    schema: Type.Optional(Type.String({ minLength: 1 })),
    fix: "a writable directory where the worker keeps database backups (default: backups under CUTOVER_DATA_DIR)",
  },
  CUTOVER_API_RATE_LIMIT: { schema: Type.Integer({ minimum: 1, default: 600 }), fix: 'the requests a principal may make per minute, e.g. 600' },
  CUTOVER_API_CONCURRENCY: { schema: Type.Integer({ minimum: 1, default: 20 }), fix: 'the requests a principal may have in progress at once (long polls apart), e.g. 20' },
  CUTOVER_API_LONG_POLLS: { schema: Type.Integer({ minimum: 1, default: 200 }), fix: "the phase long polls a principal may have waiting at once, e.g. 200" },
  CUTOVER_API_AUTH_FAILURES: { schema: Type.Integer({ minimum: 1, default: 20 }), fix: 'the failed authentications (401) an address may make per minute before it is refused for the rest of it, e.g. 20' },
  LOG_LEVEL,
} satisfies Record<string, { schema: TSchema; fix: string }>;

type Name = keyof typeof VARIABLES;
/** Every variable cutover reads (the docker-compose test checks the file sets no others). */
export const ENV_VARIABLES = Object.keys(VARIABLES) as Name[];

/** Variables a process reads, each with its schema (and default) and what to set instead of a bad value. */
export type Variables = Record<string, { schema: TSchema; fix: string }>;
type Values<V extends Variables> = { [K in keyof V]: Static<V[K]['schema']> };

/** The variables' values, defaults filled in; a bad one throws a ConfigError that names it and the fix (with any other problems given). */
export function readVariables<V extends Variables>(variables: V, env: NodeJS.ProcessEnv, otherProblems: string[] = []): Values<V> {
  const schema = Type.Object(Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, v.schema])));
  // Empty counts as unset, as in most shells' `VAR= cmd`.
  const given = Object.fromEntries(Object.keys(variables).flatMap((k) => (env[k] ? [[k, env[k]]] : [])));
  const value = Value.Default(schema, Value.Convert(schema, given));
  const problems = typeboxProblems(schema, value);
  if (problems.length || otherProblems.length) {
    const lines = problems.map(({ field, message }) => `  - ${field}=${JSON.stringify(env[field])} ${message}. Set it to ${variables[field].fix}.`);
    throw new ConfigError(`invalid environment:\n${[...lines, ...otherProblems.map((p) => `  - ${p}`)].join('\n')}`);
  }
  return value as Values<V>;
}

/** Per principal (auth failures: per address); over them the API answers 429 with Retry-After. */
export interface ApiLimits {
  requestsPerMinute: number;
  concurrentRequests: number;
  longPolls: number;
  authFailuresPerMinute: number;
}

export interface Env {
  temporal: {
    /** Unset: cutover starts its own dev server. */
    address?: string;
    namespace: string;
    /** How the worker and the API connect (TLS, API key, gRPC metadata), from Temporal's environment configuration. */
    connection: TemporalConnection['options'];
    taskQueue: string;
    uiUrl?: string;
  };
  api: { host: string; port: number; limits: ApiLimits };
  /** Where the embedded default keeps its files; unset: .data in the project. */
  dataDir?: string;
  /** Where the worker's SDK metrics are served for Prometheus; unset: not served. */
  workerMetrics?: string;
  /** The Prometheus analysis checks query; unset: the embedded one (npm start), else no prometheus provider. */
  prometheusUrl?: string;
  configPath: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** The steering keys as given (read by loadSteeringKeys). */
  steeringKeys: { CUTOVER_STEERING_KEYS?: string; CUTOVER_STEERING_KEYS_FILE?: string };
  /** Where the worker keeps backups; unset: backups under the data directory. */
  backupDir?: string;
}

export function loadEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const temporal = loadTemporalConnection(env);
  const v = readVariables(VARIABLES, env, temporal.problems);
  const connection = temporal.connection!;
  return {
    temporal: {
      // a TOML profile may name them too; the variables win, as in every Temporal SDK
      address: connection.address,
      namespace: connection.namespace ?? v.TEMPORAL_NAMESPACE,
      connection: connection.options,
      taskQueue: v.CUTOVER_TASK_QUEUE,
      uiUrl: v.CUTOVER_TEMPORAL_UI_URL,
    },
    api: {
      host: v.CUTOVER_API_HOST,
      port: v.CUTOVER_API_PORT,
      limits: {
        requestsPerMinute: v.CUTOVER_API_RATE_LIMIT,
        concurrentRequests: v.CUTOVER_API_CONCURRENCY,
        longPolls: v.CUTOVER_API_LONG_POLLS,
        authFailuresPerMinute: v.CUTOVER_API_AUTH_FAILURES,
      },
    },
    workerMetrics: v.CUTOVER_WORKER_METRICS,
    prometheusUrl: v.CUTOVER_PROMETHEUS_URL,
    dataDir: v.CUTOVER_DATA_DIR,
    configPath: v.CUTOVER_CONFIG,
    logLevel: v.LOG_LEVEL,
    steeringKeys: { CUTOVER_STEERING_KEYS: v.CUTOVER_STEERING_KEYS, CUTOVER_STEERING_KEYS_FILE: v.CUTOVER_STEERING_KEYS_FILE },
    backupDir: v.CUTOVER_BACKUP_DIR,
  };
}
