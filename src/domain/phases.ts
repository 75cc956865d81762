/**
 * The release phase machine. Pure: no Temporal, no I/O, so workflows, the API
 * and tests share one definition of what may follow what.
 */
export const PHASES = ['SCHEDULED', 'INITIALISING', 'SERVING', 'STANDING_BY', 'CLEANING_UP', 'OBSOLETE'] as const;
export type Phase = (typeof PHASES)[number];

export const PHASE_EVENTS = ['deploy', 'promote', 'standBy', 'reinstate', 'retire', 'cleaned'] as const;
export type PhaseEvent = (typeof PHASE_EVENTS)[number];

const TRANSITIONS: Record<Phase, Partial<Record<PhaseEvent, Phase>>> = {
  // retire from SCHEDULED: prepare may already have made resources for green (a database).
  SCHEDULED: { deploy: 'INITIALISING', retire: 'CLEANING_UP' },
  INITIALISING: { promote: 'SERVING', retire: 'CLEANING_UP' },
  // retire from SERVING: green rolled back after promotion, at the instant blue is reinstated.
  SERVING: { standBy: 'STANDING_BY', retire: 'CLEANING_UP' },
  STANDING_BY: { reinstate: 'SERVING', retire: 'CLEANING_UP' },
  CLEANING_UP: { cleaned: 'OBSOLETE' },
  OBSOLETE: {},
};

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly machine: 'phase' | 'status',
    readonly from: string,
    readonly event: string,
  ) {
    super(`illegal ${machine} transition: '${event}' is not allowed in ${from}`);
  }
}

export function nextPhase(from: Phase, event: PhaseEvent): Phase {
  const to = TRANSITIONS[from][event];
  if (!to) throw new IllegalTransitionError('phase', from, event);
  return to;
}
