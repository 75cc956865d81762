/** An API on the suite's dev server, with a configuration made for the test and tokens per role. */
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Client } from '@temporalio/client';
import { buildServer } from '../../src/api/server';
import type { ApiLimits } from '../../src/config/env';
import type { Config, Principal } from '../../src/config/file';
import type { PolicyInput } from '../../src/config/policy';
import type { TargetConfig } from '../../src/config/targets';
import type { Kind } from '../../src/domain/upgrade';
import { TEST_STEERING_KEYS } from '../support/steering';
import { uniqueId } from '../support/temporal';

export const TOKENS = {
  viewer: 'viewer-token-for-tests',
  operator: 'operator-token-for-tests',
  approver: 'approver-token-for-tests',
  /** Both operator and approver: can start and approve. */
  lead: 'lead-token-for-tests-000',
} as const;
export type Who = keyof typeof TOKENS;

const PRINCIPALS: Principal[] = [
  { principal: 'viewer', roles: ['viewer'], token: TOKENS.viewer, tokenSource: 'env' },
  { principal: 'operator', roles: ['operator'], token: TOKENS.operator, tokenSource: 'env' },
  { principal: 'approver', roles: ['approver'], token: TOKENS.approver, tokenSource: 'env' },
  { principal: 'lead', roles: ['operator', 'approver'], token: TOKENS.lead, tokenSource: 'env' },
];

export const UI_URL = 'http://temporal-ui.test:8233';

/** Unique target names per use, each of the given kind, so the scripted world keeps tests apart. */
export function makeTargets<K extends string>(kinds: Record<K, Kind>): { names: Record<K, string>; targets: TargetConfig[] } {
  const names = Object.fromEntries(Object.keys(kinds).map((k) => [k, uniqueId(k.toLowerCase().slice(0, 20))])) as Record<K, string>;
  const targets = (Object.entries(kinds) as [K, Kind][]).map(([k, kind]) => ({
    name: names[k],
    kind,
    description: `test target ${k}`,
    emqx: { apiUrl: 'http://emqx.test:18083', apiKey: { env: 'SECRET_KEY_ENV' }, apiSecret: { env: 'SECRET_SECRET_ENV' } },
  }));
  return { names, targets };
}

/**
 * The tests' configuration: auto approval and a one-second standby by
 * default, so upgrades end quickly, and a policy that lets requests ask for
 * standby windows that short; `policy` replaces it.
 */
export function testConfig(targets: TargetConfig[], taskQueue: string, policy: PolicyInput = { standbyWindow: { min: '0s' } }): Config {
  return {
    env: {
      temporal: { namespace: 'default', taskQueue, uiUrl: UI_URL, connection: {} },
      api: { host: '127.0.0.1', port: 0, limits: TEST_LIMITS },
     
      configPath: 'test',
      logLevel: 'silent',
      steeringKeys: {},
    },
    file: 'test',
    targets,
    auth: { principals: [...PRINCIPALS, ...targets.map(servicePrincipal)] },
    defaults: { approval: 'auto', standbyWindow: '1s', maxAttempts: 2 },
    policy,
    analysis: [],
    steering: TEST_STEERING_KEYS,
  };
}

/** Wide enough that no test but the limits' own meets them. */
export const TEST_LIMITS: ApiLimits = { requestsPerMinute: 100_000, concurrentRequests: 1000, longPolls: 1000, authFailuresPerMinute: 1000 };

/** Each test target has a service token of its own. */
export const serviceToken = (target: string): string => `service-token-of-${target}`;
const servicePrincipal = (t: TargetConfig): Principal => ({
  principal: `svc-${t.name}`,
  roles: ['service'],
  target: t.name,
  token: serviceToken(t.name),
  tokenSource: 'env',
});

export function testServer(client: Client, config: Config): Promise<FastifyInstance> {
  return buildServer({ client, config });
}

export interface Call {
  /** A role's token, or a service token of the target named. */
  as?: Who | { service: string };
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request; `as` picks the bearer token of a role. */
export async function call(app: FastifyInstance, method: InjectOptions['method'], url: string, { as, body, headers = {} }: Call = {}) {
  const res = await app.inject({
    method,
    url,
    headers: { ...(as ? { authorization: `Bearer ${typeof as === 'string' ? TOKENS[as] : serviceToken(as.service)}` } : {}), ...headers },
    ...(body === undefined ? {} : typeof body === 'string' ? { payload: body } : { payload: body as object }),
  });
  let json: unknown;
  try {
    json = res.json();
  } catch {
    json = undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read responses through matchers
  return { status: res.statusCode, headers: res.headers, text: res.body, json: json as any };
}
