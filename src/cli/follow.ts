/**
 * Following an upgrade: read its state every interval until it ends, handing
 * each new state on. A read that fails after the first (the API restarting,
 * Temporal unavailable for a moment) is retried for a while before it counts.
 */
import { hasEnded, stoppedOutside, type UpgradeView } from '../view/upgradeView';
import type { ApiClient } from './client';
import { CliError, EXIT, type ExitCode } from './exitCodes';

/** Reads may fail this long in a row (after a first success) before following gives up. */
const OUTAGE_MS = 120_000;

export interface FollowOptions {
  intervalMs: number;
  /** Give up (exit 8) after this long; undefined: follow until the upgrade ends. */
  timeoutMs?: number;
  /** Called on each state that differs from the previous one. */
  onState(u: UpgradeView): void;
  /** A read failed and will be retried. */
  onRetry?(err: CliError): void;
}

export const getUpgrade = (api: ApiClient, id: string): Promise<UpgradeView> =>
  api.request<UpgradeView>({ path: `/v1/upgrades/${encodeURIComponent(id)}`, role: 'viewer' });

export async function follow(api: ApiClient, id: string, o: FollowOptions): Promise<UpgradeView> {
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  let last: string | undefined;
  let failingSince: number | undefined;
  for (;;) {
    let u: UpgradeView | undefined;
    try {
      u = await getUpgrade(api, id);
      failingSince = undefined;
    } catch (err) {
      const transient = err instanceof CliError && (err.exitCode === EXIT.unreachable || err.exitCode === EXIT.error) && last !== undefined;
      if (!transient) throw err;
      failingSince ??= Date.now();
      if (Date.now() - failingSince > OUTAGE_MS) throw err;
      o.onRetry?.(err);
    }
    if (u) {
      const json = JSON.stringify(u);
      if (json !== last) o.onState(u);
      last = json;
      if (hasEnded(u)) return u;
    }
    if (Date.now() >= deadline) throw new CliError(EXIT.timedOut, `${id} is still ${u?.status ?? 'running'} after the --timeout: follow it with cutover watch ${id}`);
    await new Promise((r) => setTimeout(r, Math.min(o.intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

/** The exit code of an upgrade that ended. */
export function outcomeCode(u: UpgradeView): ExitCode {
  if (stoppedOutside(u)) return EXIT.failed;
  return u.status === 'SUCCEEDED' ? EXIT.ok : u.status === 'ROLLED_BACK' ? EXIT.rolledBack : EXIT.failed;
}
