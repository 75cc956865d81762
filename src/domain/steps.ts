/** The skeleton's steps: what an upgrade, its policy and its gates are told in. */
/** The skeleton's steps, in order (the README's "How an upgrade runs"). */
export const STEPS = [
  'plan',
  'prepare',
  'deployGreen',
  'waitReady',
  'verify',
  'gate',
  'promote',
  'drainBlue',
  'standBy',
  'finalize',
  'cleanUpBlue',
] as const;
export type Step = (typeof STEPS)[number];

/** The step from whose start rollback is refused: after it the old release cannot serve again. */
export const POINT_OF_NO_RETURN = 'finalize' satisfies Step;

/** Skeleton steps a person's approval can stand before. */
export const GATED_STEPS = ['promote', 'finalize'] as const;
export type GatedStep = (typeof GATED_STEPS)[number];
