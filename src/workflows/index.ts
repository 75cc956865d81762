/** The workflows this worker runs: the one skeleton, with the strategy of each kind; an upgrade's preview; a target's release listing and clean-up. */
import { isKind } from '../domain/kindRegistry';
import { createBlueGreenUpgrade } from './blueGreenUpgrade';
import { createPreviewUpgrade } from './previewUpgrade';
import { STRATEGIES } from './strategies';

const strategyOf = (kind: string) => (isKind(kind) ? STRATEGIES[kind] : undefined);

export const blueGreenUpgrade = createBlueGreenUpgrade(strategyOf);
export const previewUpgrade = createPreviewUpgrade(strategyOf);
export { targetCleanup } from './targetCleanup';
export { targetReleases } from './targetReleases';
