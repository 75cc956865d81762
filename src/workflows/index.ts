/** The workflows this worker runs. Strategies register here per kind as they are built. */
import type { Kind } from '../domain/upgrade';
import { createBlueGreenUpgrade } from './blueGreenUpgrade';
import type { Strategy } from './strategy';

const strategies: Partial<Record<Kind, Strategy>> = {};

export const blueGreenUpgrade = createBlueGreenUpgrade((kind) => strategies[kind]);
