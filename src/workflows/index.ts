/** The workflows this worker runs: the one skeleton, with the strategy of each kind; a target's release listing and clean-up. */
import { isKind } from '../domain/kindRegistry';
import { createBlueGreenUpgrade } from './blueGreenUpgrade';
import { STRATEGIES } from './strategies';

export const blueGreenUpgrade = createBlueGreenUpgrade((kind) => (isKind(kind) ? STRATEGIES[kind] : undefined));
export { targetCleanup } from './targetCleanup';
export { targetReleases } from './targetReleases';
