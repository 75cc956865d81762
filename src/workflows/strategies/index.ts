/** The strategy of each kind. A strategy keeps per-upgrade state (the nodes it found), so each run gets its own. */
import type { Kind } from '../../domain/kindRegistry';
import type { Strategy } from '../strategy';
import { createEmqxStrategy } from './emqx';
import { createKongStrategy } from './kong';
import { createProjectionStrategy } from './projection';

export const STRATEGIES: { readonly [K in Kind]: () => Strategy<K> } = {
  emqx: createEmqxStrategy,
  kong: createKongStrategy,
  projection: createProjectionStrategy,
};
