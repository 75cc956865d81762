/**
 * The configuration file (YAML or JSON): targets, API tokens, default
 * upgrade options, the policy, named analysis checks and notification sinks. loadConfig() reads it together with the environment and
 * returns everything the service needs as one typed object; any problem
 * stops the start with the file, the field and the reason.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { loadEnv, type Env } from './env';
import { OptionsError, normaliseOptions, toUpgradeOptions } from './normalise';
import { UpgradeOptionsInput } from './options';
import { ConfigError, formatProblems, typeboxProblems, type FieldProblem } from './schemaErrors';
import { AnalysisCheckError, AnalysisCheckInput, toAnalysisCheck } from '../domain/analysis';
import { MAX_DURATION } from '../domain/duration';
import { kindModule, kindModules } from '../domain/kindRegistry';
import type { UpgradePolicy } from '../domain/policy';
import { durationProblems } from './bounds';
import { PolicyInput, RoleName, configuredLayers, configuredProblems, distinctAnywhere, policyFor, policyProblems } from './policy';
import { TargetConfig } from './targets';
import { loadSteeringKeys, type SteeringKeys } from './steeringKeys';
import { NotificationsInput, notificationEnvProblems, notificationProblems } from './notifications';

/** A configured token shorter than this can be guessed; the development defaults only serve loopback. */
export const MIN_TOKEN_BYTES = 32;

/**
 * The API's roles. service: a release's own token, bound to one target: it
 * reads its releases' phase and reports ready, nothing else. A file may
 * declare roles of its own (auth.roles) for a policy to require at a gate.
 */
export const ROLES = ['viewer', 'operator', 'approver', 'service'] as const;
export type Role = (typeof ROLES)[number];

/** A token is never written in the file: it names an environment variable (and maybe a development default). */
const TokenRef = Type.Object(
  {
    env: Type.String({ pattern: '^[A-Z_][A-Z0-9_]*$', description: 'an environment variable name such as CUTOVER_TOKEN_OPS' }),
    devDefault: Type.Optional(Type.String({ minLength: 16 })),
  },
  { additionalProperties: false },
);

const TokenConfig = Type.Object(
  {
    principal: Type.String({ pattern: '^[A-Za-z0-9._@-]{1,64}$', description: 'a name of letters, digits, dot, dash, underscore or @' }),
    roles: Type.Array(RoleName, { minItems: 1, maxItems: 20, uniqueItems: true, description: `${ROLES.join(', ')} or a role of auth.roles` }),
    target: Type.Optional(Type.String({ description: 'the one target a service token acts for (role service only)' })),
    token: TokenRef,
  },
  { additionalProperties: false },
);

export const ConfigFile = Type.Object(
  {
    targets: Type.Array(TargetConfig),
    auth: Type.Object(
      {
        tokens: Type.Array(TokenConfig, { minItems: 1 }),
        roles: Type.Optional(
          Type.Array(RoleName, { maxItems: 50, uniqueItems: true, description: 'roles of your own beside the built-in ones, for a policy to require at a gate (e.g. release-manager)' }),
        ),
      },
      { additionalProperties: false },
    ),
    defaults: Type.Optional(UpgradeOptionsInput),
    /** Every target's policy; a target's own policy goes over it. */
    policy: Type.Optional(PolicyInput),
    analysis: Type.Optional(
      Type.Array(AnalysisCheckInput, { maxItems: 200, description: 'named analysis checks that traffic steps of any upgrade may name (options.traffic[].analysis)' }),
    ),
    /** Sinks every target's upgrades notify (a target's own notifications add to them). */
    notifications: Type.Optional(NotificationsInput),
  },
  { additionalProperties: false },
);
export type ConfigFile = Static<typeof ConfigFile>;

export interface Principal {
  principal: string;
  /** Built-in roles (Role) and the file's own. */
  roles: string[];
  /** A service principal's one target. */
  target?: string;
  token: string;
  /** devDefault: the file's development token is in use (only ever with the embedded dev server). */
  tokenSource: 'env' | 'devDefault';
}

export interface Config {
  env: Env;
  /** Absolute path of the file read. */
  file: string;
  targets: TargetConfig[];
  auth: { principals: Principal[] };
  defaults: UpgradeOptionsInput;
  /** The file's policy, under each target's own (see policyFor). */
  policy?: PolicyInput;
  /** The file's named analysis checks, as written (a request's options.analysis may add or replace some). */
  analysis: AnalysisCheckInput[];
  /** The keys the API signs steering requests with and the workers verify them with. */
  steering: SteeringKeys;
  /** The file's sinks and the console's address for links (each target's own sinks are in its config); absent: none. */
  notifications?: NotificationsInput;
}

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError(`cannot read configuration file ${path}: ${reason} (CUTOVER_CONFIG names the file)`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  const value = Value.Default(ConfigFile, doc ?? {});
  const problems = typeboxProblems(ConfigFile, value);
  if (!problems.length) problems.push(...semanticProblems(value as ConfigFile));
  if (problems.length) throw new ConfigError(`${path} is not a valid cutover configuration:\n${formatProblems(problems)}`);
  return value as ConfigFile;
}

/** What the schema cannot say: names that must be unique, durations that must be positive. */
function semanticProblems(file: ConfigFile): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const firstIndex = <T>(items: T[], key: (t: T) => string) => {
    const seen = new Map<string, number>();
    return items.map((item, i) => {
      const k = key(item);
      if (!seen.has(k)) seen.set(k, i);
      return seen.get(k)!;
    });
  };
  firstIndex(file.targets, (t) => t.name).forEach((first, i) => {
    if (first !== i) problems.push({ field: `targets[${i}].name`, message: `'${file.targets[i].name}' is already the name of targets[${first}]` });
  });
  file.targets.forEach((t, i) => {
    if (t.kubernetes && t.local) problems.push({ field: `targets[${i}]`, message: `'${t.name}' has both a kubernetes and a local placement; keep one` });
  });
  // a workload, or a sandbox's state, is one target's: two targets on one would adopt each other's releases
  const placedOn = (t: ConfigFile['targets'][number]) =>
    t.kubernetes ? `kubernetes ${t.kubernetes.context ?? ''}/${t.kubernetes.namespace}/${t.kubernetes.workload.name}` : t.local ? `local ${t.local.cluster}` : `none ${t.name}`;
  firstIndex(file.targets, placedOn).forEach((first, i) => {
    const t = file.targets[i];
    if (first === i) return;
    const field = t.kubernetes ? `targets[${i}].kubernetes.workload` : `targets[${i}].local.cluster`;
    problems.push({ field, message: `is already the placement of targets[${first}] ('${file.targets[first].name}'): each target needs its own` });
  });
  const tokens = file.auth.tokens;
  firstIndex(tokens, (t) => t.principal).forEach((first, i) => {
    if (first !== i) problems.push({ field: `auth.tokens[${i}].principal`, message: `'${tokens[i].principal}' is already used by auth.tokens[${first}]` });
  });
  firstIndex(tokens, (t) => t.token.env).forEach((first, i) => {
    if (first !== i) problems.push({ field: `auth.tokens[${i}].token.env`, message: `${tokens[i].token.env} is already the token of auth.tokens[${first}]` });
  });
  const roles = new Set<string>([...ROLES, ...(file.auth.roles ?? [])]);
  file.auth.roles?.forEach((r, i) => {
    if ((ROLES as readonly string[]).includes(r)) problems.push({ field: `auth.roles[${i}]`, message: `${r} is a built-in role already` });
  });
  tokens.forEach((t, i) => {
    t.roles.forEach((r, j) => {
      if (!roles.has(r)) problems.push({ field: `auth.tokens[${i}].roles[${j}]`, message: `must be one of ${[...roles].join(', ')} (a role of your own is declared in auth.roles)` });
    });
    const service = t.roles.includes('service');
    if (service && (t.roles.length > 1 || t.target === undefined)) {
      problems.push({ field: `auth.tokens[${i}]`, message: 'a service token has the role service alone and names its target' });
    } else if (!service && t.target !== undefined) {
      problems.push({ field: `auth.tokens[${i}].target`, message: 'only a service token is bound to a target' });
    } else if (t.target !== undefined && !file.targets.some((x) => x.name === t.target)) {
      problems.push({ field: `auth.tokens[${i}].target`, message: `'${t.target}' is not a configured target` });
    }
  });
  file.targets.forEach((t, i) => problems.push(...targetProblems(t, `targets[${i}]`)));
  const checks = file.analysis ?? [];
  firstIndex(checks, (c) => c.name).forEach((first, i) => {
    if (first !== i) problems.push({ field: `analysis[${i}].name`, message: `'${checks[i].name}' is already the name of analysis[${first}]` });
  });
  checks.forEach((c, i) => {
    try {
      toAnalysisCheck(c);
    } catch (err) {
      if (!(err instanceof AnalysisCheckError)) throw err;
      problems.push({ field: `analysis[${i}].${err.field}`, message: err.message });
    }
  });
  problems.push(...notificationProblems(file));
  const held = new Set(tokens.flatMap((t) => t.roles));
  problems.push(...durationProblems(ConfigFile, file, MAX_DURATION), ...policyProblems(file.policy, 'policy', held));
  file.targets.forEach((t, i) => problems.push(...policyProblems(t.policy, `targets[${i}].policy`, held)));
  if (problems.length) return problems;
  const layers: [string, UpgradeOptionsInput][] = [['defaults', file.defaults ?? {}], ...file.targets.map((t, i): [string, UpgradeOptionsInput] => [`targets[${i}].defaults`, t.defaults ?? {}])];
  for (const [field, options] of layers) {
    try {
      toUpgradeOptions([options], { requireDistinctApprover: false, checks: file.analysis });
    } catch (err) {
      if (!(err instanceof OptionsError)) throw err;
      problems.push({ field: `${field}.${err.field}`, message: err.message });
    }
  }
  if (problems.length) return problems;
  // Each target's own configuration within its own policy.
  file.targets.forEach((t, i) => {
    const policy = policyFor(file, t);
    problems.push(...configuredProblems(policy, configuredOptions(file, t, policy), `targets[${i}]`));
  });
  return problems;
}

function configuredOptions(file: ConfigFile, target: TargetConfig, policy: UpgradePolicy) {
  return normaliseOptions(target.kind, configuredLayers(file, target), { requireDistinctApprover: distinctAnywhere(policy), checks: file.analysis }).options;
}

/** A target carries its own kind's access block and no other kind's; a local one has the ports its sandbox needs. */
function targetProblems(t: TargetConfig, field: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const blocks = t as Record<string, unknown>;
  for (const k of kindModules()) {
    if (k.kind === t.kind && blocks[k.kind] === undefined) problems.push({ field: `${field}.${k.kind}`, message: `is required for a target of kind ${k.kind}: how the worker reaches it` });
    if (k.kind !== t.kind && blocks[k.kind] !== undefined) problems.push({ field: `${field}.${k.kind}`, message: `is for targets of kind ${k.kind}; '${t.name}' is of kind ${t.kind}` });
  }
  if (t.local) {
    const missing = kindModule(t.kind).localPorts.filter((p) => t.local!.ports[p] === undefined);
    if (missing.length) problems.push({ field: `${field}.local.ports`, message: `needs ${missing.join(', ')} (a ${t.kind} sandbox listens on ${kindModule(t.kind).localPorts.join(', ')})` });
  }
  if (!t.local && !t.kubernetes) problems.push({ field, message: `'${t.name}' needs a placement: kubernetes or local` });
  if (t.kubernetes?.router && t.kubernetes.httpRoute) {
    problems.push({ field: `${field}.kubernetes.httpRoute`, message: 'names a router, as kubernetes.router does: keep router alone (httpRoute: x is router: { type: httpRoute, name: x })' });
  }
  return problems;
}

/**
 * A token comes from its environment variable. Its devDefault applies only
 * with the embedded dev server (TEMPORAL_ADDRESS unset), so a production
 * deployment that forgets a variable fails to start instead of accepting a
 * token published in the file.
 */
function resolvePrincipals(file: ConfigFile, env: NodeJS.ProcessEnv, embedded: boolean, apiHost: string): { principals: Principal[]; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const principals: Principal[] = [];
  file.auth.tokens.forEach((t, i) => {
    const field = `auth.tokens[${i}].token`;
    const fromEnv = env[t.token.env];
    if (fromEnv) {
      if (Buffer.byteLength(fromEnv) < MIN_TOKEN_BYTES) {
        problems.push({ field, message: `${t.token.env} has ${Buffer.byteLength(fromEnv)} bytes: a token needs at least ${MIN_TOKEN_BYTES}, e.g. $(openssl rand -base64 32)` });
      }
      principals.push({ principal: t.principal, roles: t.roles, target: t.target, token: fromEnv, tokenSource: 'env' });
    } else if (embedded && t.token.devDefault) {
      // published in the repository: fine on a laptop, never where another machine can send it
      if (!isLoopback(apiHost)) {
        problems.push({ field, message: `environment variable ${t.token.env} is not set, and the development token is refused: the API listens on ${apiHost}, not on loopback (set ${t.token.env}, or CUTOVER_API_HOST=127.0.0.1)` });
      }
      principals.push({ principal: t.principal, roles: t.roles, target: t.target, token: t.token.devDefault, tokenSource: 'devDefault' });
    } else {
      const why = t.token.devDefault ? ' (its devDefault applies only with the embedded dev server, when TEMPORAL_ADDRESS is unset)' : '';
      problems.push({ field, message: `environment variable ${t.token.env} is not set${why}: set it to ${t.principal}'s API token` });
    }
  });
  const owner = new Map<string, string>();
  for (const p of principals) {
    const other = owner.get(p.token);
    if (other) problems.push({ field: 'auth.tokens', message: `${p.principal} and ${other} have the same token: each principal needs its own` });
    owner.set(p.token, p.principal);
  }
  return { principals, problems };
}

/** 127.0.0.0/8, ::1 and localhost: only this machine reaches them. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The environment and the configuration file it names, checked together. */
export interface LoadOptions {
  /** Whether this process serves the API (default): a worker alone needs none of the API's tokens. */
  api?: boolean;
  /** Whether this process runs the worker (default): the API alone needs none of the sinks' URLs and keys. */
  worker?: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, { api = true, worker = true }: LoadOptions = {}): Config {
  const e = loadEnv(env);
  const path = resolve(e.configPath);
  const file = readConfigFile(path);
  const embedded = e.temporal.address === undefined;
  const { principals, problems } = api ? resolvePrincipals(file, env, embedded, e.api.host) : { principals: [], problems: [] };
  if (problems.length) throw new ConfigError(`${path}: the API tokens cannot be resolved:\n${formatProblems(problems)}`);
  const sinkProblems = worker ? notificationEnvProblems(file, env) : [];
  if (sinkProblems.length) throw new ConfigError(`${path}: the notification sinks cannot be resolved:\n${formatProblems(sinkProblems)}`);
  const notifications = { ...(file.notifications ?? { sinks: [] }) };
  // the embedded default's console is the API this process serves
  notifications.consoleUrl ??= embedded ? `http://${e.api.host === '0.0.0.0' ? '127.0.0.1' : e.api.host}:${e.api.port}` : undefined;
  const steering = loadSteeringKeys(e.steeringKeys, embedded);
  return {
    env: e,
    file: path,
    targets: file.targets,
    auth: { principals },
    defaults: file.defaults ?? {},
    policy: file.policy,
    analysis: file.analysis ?? [],
    steering,
    notifications,
  };
}
