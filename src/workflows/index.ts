/** The workflows this worker runs. Strategies register here per kind as they are built. */
import type { Kind } from '../domain/upgrade';
import { createBlueGreenUpgrade } from './blueGreenUpgrade';
import type { Strategy } from './strategy';
import { createEmqxStrategy } from './strategies/emqx';

/** A strategy keeps per-upgrade state (the nodes it found), so each run gets its own. */
const strategies: Partial<Record<Kind, () => Strategy>> = {
  emqx: createEmqxStrategy,
};

export const blueGreenUpgrade = createBlueGreenUpgrade((kind) => strategies[kind]?.());
