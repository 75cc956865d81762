/** The strategy of each kind. A strategy keeps per-upgrade state (the nodes it found), so each run gets its own. */
import type { Kind } from '../../domain/kinds';
import type { Strategy } from '../strategy';
import { createEmqxStrategy } from './emqx';
import { createKongStrategy } from './kong';
import { createProjectionStrategy } from './projection';

export const STRATEGIES = {
  emqx: createEmqxStrategy,
  kong: createKongStrategy,
  projection: createProjectionStrategy,
} satisfies Record<Kind, () => Strategy>;
