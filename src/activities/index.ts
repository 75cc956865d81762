/** Every activity the worker registers, each module built from the clients and configuration it needs. */
import type { TargetConfig } from '../config/targets';
import { targetLookup } from '../config/targets';
import { createEmqxActivities } from './emqx';

export function createActivities(targets: TargetConfig[]) {
  const lookup = targetLookup(targets);
  return {
    ...createEmqxActivities({ targets: lookup }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
