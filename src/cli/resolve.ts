/** An upgrade named by its id, or by its target (that target's latest upgrade). */
import { parseUpgradeId } from '../domain/upgrade';
import type { UpgradeSummary } from '../api/schemas';
import type { ApiClient } from './client';
import { CliError, EXIT } from './exitCodes';

export interface TargetSummary {
  name: string;
  kind: string;
  description?: string;
}

export const listTargets = async (api: ApiClient): Promise<TargetSummary[]> =>
  (await api.request<{ targets: TargetSummary[] }>({ path: '/v1/targets', role: 'viewer' })).targets;

export async function listUpgrades(api: ApiClient, filter: Record<string, string | undefined>): Promise<UpgradeSummary[]> {
  const query = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return (await api.request<{ upgrades: UpgradeSummary[] }>({ path: `/v1/upgrades${query ? `?${query}` : ''}`, role: 'viewer' })).upgrades;
}

export async function upgradeIdOf(api: ApiClient, idOrTarget: string): Promise<string> {
  if (parseUpgradeId(idOrTarget)) return idOrTarget;
  const [latest] = await listUpgrades(api, { target: idOrTarget });
  if (latest) return latest.id;
  const known = (await listTargets(api)).map((t) => t.name);
  if (!known.includes(idOrTarget)) {
    throw new CliError(EXIT.refused, `'${idOrTarget}' is neither an upgrade id (<target>.<runId>) nor a configured target (known: ${known.join(', ')})`);
  }
  throw new CliError(EXIT.refused, `no upgrade of ${idOrTarget} has run yet: start one with cutover upgrade ${idOrTarget} VERSION`);
}
