/** The router's environment, validated at start: a bad value stops it with a message naming the variable and the fix. */
import { Type } from '@sinclair/typebox';
import { LOG_LEVEL, readVariables } from '../config/env';

const URL_LIST = '^https?://[^\\s,]*[^/\\s,](,https?://[^\\s,]*[^/\\s,])*$';

const VARIABLES = {
  CUTOVER_ADMIN_ROUTER_DATABASE_URL: {
    schema: Type.String({ pattern: '^postgres(ql)?://[^\\s]+$', description: 'a postgres:// URL' }),
    fix: "the Kong database as a URL, e.g. postgres://kong:PASSWORD@kong-postgres.kong:5432/kong (the database of the cutover target's kong.database block)",
  },
  CUTOVER_ADMIN_ROUTER_UPSTREAMS: {
    schema: Type.String({ pattern: URL_LIST, description: 'http(s) URLs without a trailing slash, comma-separated' }),
    fix: "Kong's Admin API, e.g. http://kong-admin.kong:8001 (its Service), or the nodes' Admin APIs comma-separated",
  },
  CUTOVER_ADMIN_ROUTER_HOST: { schema: Type.String({ minLength: 1, default: '127.0.0.1' }), fix: 'the address the router listens on, e.g. 0.0.0.0' },
  CUTOVER_ADMIN_ROUTER_PORT: {
    schema: Type.Integer({ minimum: 0, maximum: 65535, default: 8001 }),
    fix: "a port number from 0 to 65535, e.g. 8001 (Kong's Admin API port, so clients change only the host)",
  },
  CUTOVER_ADMIN_ROUTER_METRICS: {
    schema: Type.Optional(Type.String({ pattern: '^[^\\s:/]+:[0-9]{1,5}$', description: 'host:port' })),
    fix: "host:port where it serves Prometheus metrics, e.g. 0.0.0.0:9464 (a listener of its own: Kong's Admin API has a /metrics of its own)",
  },
  LOG_LEVEL,
};

/** Every variable the router reads. */
export const ROUTER_ENV_VARIABLES = Object.keys(VARIABLES);

export interface RouterEnv {
  databaseUrl: string;
  upstreams: string[];
  host: string;
  port: number;
  /** host:port of the Prometheus listener; unset: none. */
  metrics?: string;
  logLevel: string;
}

export function loadRouterEnv(env: NodeJS.ProcessEnv = process.env): RouterEnv {
  const v = readVariables(VARIABLES, env);
  return {
    databaseUrl: v.CUTOVER_ADMIN_ROUTER_DATABASE_URL,
    upstreams: v.CUTOVER_ADMIN_ROUTER_UPSTREAMS.split(','),
    host: v.CUTOVER_ADMIN_ROUTER_HOST,
    port: v.CUTOVER_ADMIN_ROUTER_PORT,
    metrics: v.CUTOVER_ADMIN_ROUTER_METRICS,
    logLevel: v.LOG_LEVEL,
  };
}
