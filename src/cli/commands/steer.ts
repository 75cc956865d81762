/** approve, rollback, abort (an upgrade, by id or target) and cleanup (a target), each with the reason the history records. */
import type { ApiClient } from '../client';
import { EXIT } from '../exitCodes';
import { print, type Io } from '../io';
import { upgradeIdOf } from '../resolve';
import { waitForOutcome, type WaitFlags } from './wait';

export type Action = 'approve' | 'rollback' | 'abort';
export const ROLE_OF: Record<Action, 'approver' | 'operator'> = { approve: 'approver', rollback: 'operator', abort: 'operator' };

export async function steer(api: ApiClient, io: Io, action: Action, idOrTarget: string, flags: WaitFlags & { reason: string }): Promise<number> {
  const id = await upgradeIdOf(api, idOrTarget);
  const result = await api.request<{ status: string; by: string }>({
    method: 'POST',
    path: `/v1/upgrades/${encodeURIComponent(id)}/${action}`,
    body: { reason: flags.reason },
    role: ROLE_OF[action],
    idempotent: true,
  });
  if (flags.wait) {
    if (!io.json) io.out(`${action} of ${id} accepted (by ${result.by})`);
    return waitForOutcome(api, io, id, flags);
  }
  print(io, result, () => [`${action} of ${id} accepted (by ${result.by}); the upgrade is ${result.status}`]);
  return EXIT.ok;
}

export async function cleanup(api: ApiClient, io: Io, target: string, reason: string): Promise<number> {
  const started = await api.request<{ id: string }>({ method: 'POST', path: `/v1/targets/${encodeURIComponent(target)}/cleanup`, body: { reason }, role: 'operator' });
  print(io, started, () => [`clean-up of ${target} started: ${started.id}`, `follow it with: cutover targets ${target}`]);
  return EXIT.ok;
}
