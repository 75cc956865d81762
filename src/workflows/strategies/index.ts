/** The strategy of each kind. A strategy holds no state: what it learns, the skeleton carries (StrategyContext.facts). */
import type { Kind } from '../../domain/kindRegistry';
import type { Strategy } from '../strategy';
import { emqxStrategy } from './emqx';
import { kongStrategy } from './kong';
import { projectionStrategy } from './projection';

export const STRATEGIES: { readonly [K in Kind]: Strategy<K> } = {
  emqx: emqxStrategy,
  kong: kongStrategy,
  projection: projectionStrategy,
};
