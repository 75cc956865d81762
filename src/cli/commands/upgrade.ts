/**
 * cutover upgrade TARGET VERSION: the request as POST /v1/upgrades takes it,
 * options from --option k=v (dotted paths, YAML values) and --options-file;
 * with --plan, the same body to POST /v1/upgrades?dryRun=true (its preview,
 * refused as the start would be).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { ApiClient } from '../client';
import { CliError, EXIT } from '../exitCodes';
import { print, type Io } from '../io';
import { listTargets } from '../resolve';
import { plan } from './plan';
import { waitForOutcome, type WaitFlags } from './wait';

export interface UpgradeFlags extends WaitFlags {
  option: string[];
  optionsFile?: string;
  image?: string;
  reason?: string;
  plan?: boolean;
}

type Options = Record<string, unknown>;

/** "emqx.connEvictRate=50" into { emqx: { connEvictRate: 50 } }; a value is YAML, so 50 is a number and [a, b] a list. */
export function setOption(options: Options, assignment: string): Options {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new CliError(EXIT.usage, `--option ${assignment}: write it as key=value, e.g. --option approval=manual or --option emqx.connEvictRate=50`);
  const path = assignment.slice(0, eq).split('.');
  let value: unknown;
  try {
    value = parse(assignment.slice(eq + 1));
  } catch (err) {
    throw new CliError(EXIT.usage, `--option ${assignment}: the value is not YAML (${(err as Error).message.split('\n')[0]})`);
  }
  let at = options;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    at = at[key] = typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Options) : {};
  }
  at[path[path.length - 1]] = value;
  return options;
}

function readOptionsFile(path: string): Options {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(EXIT.usage, `--options-file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CliError(EXIT.usage, `--options-file ${path}: must hold a mapping of options (YAML or JSON)`);
  return doc as Options;
}

/** The body of POST /v1/upgrades; the kind is the target's, as GET /v1/targets says. */
export async function upgradeRequest(api: ApiClient, target: string, version: string, flags: UpgradeFlags) {
  const known = await listTargets(api);
  const t = known.find((k) => k.name === target);
  if (!t) throw new CliError(EXIT.refused, `'${target}' is not a configured target (known: ${known.map((k) => k.name).join(', ')})`);
  const options = flags.option.reduce(setOption, flags.optionsFile ? readOptionsFile(flags.optionsFile) : {});
  return {
    kind: t.kind,
    target,
    version,
    ...(flags.image ? { image: flags.image } : {}),
    ...(flags.reason ? { reason: flags.reason } : {}),
    ...(Object.keys(options).length ? { options } : {}),
  };
}

interface Created {
  id: string;
  links: { self: string; temporalUi?: string };
}

/** A refused option names its field as options.<path>: that is the --option to change. */
async function optionHinted<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if (err instanceof CliError && /^options\./.test(String((err.body as { error?: { field?: string } })?.error?.field))) {
      throw new CliError(err.exitCode, `${err.message} (set with --option ${(err.body as { error: { field: string } }).error.field.slice('options.'.length)}=…)`, err.body);
    }
    throw err;
  }
}

export async function upgrade(api: ApiClient, io: Io, target: string, version: string, flags: UpgradeFlags): Promise<number> {
  const body = await upgradeRequest(api, target, version, flags);
  if (flags.plan) return optionHinted(() => plan(api, io, body));
  const created = await optionHinted(() => api.request<Created>({ method: 'POST', path: '/v1/upgrades', body, role: 'operator' }));
  if (!flags.wait) {
    print(io, created, () => [`started ${created.id}`, `follow it with: cutover watch ${created.id}`, ...(created.links.temporalUi ? [`Temporal UI: ${created.links.temporalUi}`] : [])]);
    return EXIT.ok;
  }
  if (!io.json) io.out(`started ${created.id}`);
  return waitForOutcome(api, io, created.id, flags);
}
