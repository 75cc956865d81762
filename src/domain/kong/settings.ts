/** How a Kong upgrade runs, in the workflow's units. */
export interface KongSettings {
  finishPending: boolean;
  backup: boolean;
  smoke: { method: string; path: string; status: number }[];
}

export const KONG_DEFAULTS: KongSettings = { finishPending: false, backup: true, smoke: [] };

/** Settings from the upgrade request (already validated by the API), over the defaults. */
export function kongSettings(settings: Record<string, unknown>): KongSettings {
  return { ...KONG_DEFAULTS, ...((settings.kong ?? {}) as Partial<KongSettings>) };
}
