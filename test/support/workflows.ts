/** The test bundle: the real skeleton, driven by a strategy that exists only in the tests. */
import { createBlueGreenUpgrade } from '../../src/workflows/blueGreenUpgrade';
import { scriptedStrategy } from './scriptedStrategy';

export const blueGreenUpgrade = createBlueGreenUpgrade(() => scriptedStrategy);
