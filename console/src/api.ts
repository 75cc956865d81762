/**
 * The console's calls to the API, with the token of this browser tab's
 * session (sessionStorage: gone when the tab closes, never in a cookie or
 * localStorage).
 */
import type { TargetView, UpgradeSummary } from '../../src/api/schemas';
import type { UpgradePreview } from '../../src/domain/preview';
import type { UpgradeView } from '../../src/view/upgradeView';

const TOKEN_KEY = 'cutover.token';

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: 'GET' | 'POST'; body?: unknown; token?: string } = {}): Promise<T> {
  const bearer = init.token ?? token.get();
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: {
      accept: 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const json = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  if (!res.ok) throw new ApiError(res.status, json?.error?.message ?? `HTTP ${res.status}`);
  return json as T;
}

export interface Me {
  principal: string;
  roles: string[];
}

export interface TargetSummary {
  name: string;
  kind: string;
  description?: string;
}

export const getMe = (with_?: string) => api<Me>('/v1/me', { token: with_ });
export const getTargets = () => api<{ targets: TargetSummary[] }>('/v1/targets');
export const getTarget = (name: string) => api<TargetView>(`/v1/targets/${encodeURIComponent(name)}`);
export const getUpgrades = (filter: Record<string, string>) => api<{ upgrades: UpgradeSummary[] }>(`/v1/upgrades?${new URLSearchParams(filter)}`);
export const getUpgrade = (id: string) => api<UpgradeView>(`/v1/upgrades/${encodeURIComponent(id)}`);
export const steer = (id: string, action: 'approve' | 'rollback' | 'abort', reason: string) =>
  api<{ status: string; by: string }>(`/v1/upgrades/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: { reason } });
export const previewUpgrade = (body: object) => api<UpgradePreview>('/v1/upgrades?dryRun=true', { method: 'POST', body });
export const startUpgrade = (body: object) => api<{ id: string }>('/v1/upgrades', { method: 'POST', body });
