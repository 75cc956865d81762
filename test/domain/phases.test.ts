/** The phase and status machines over their whole tables: every (state, event) pair. */
import { IllegalTransitionError, PHASES, PHASE_EVENTS, nextPhase, type Phase, type PhaseEvent } from '../../src/domain/phases';
import { STATUSES, isTerminal, nextStatus, type UpgradeStatus } from '../../src/domain/status';

const LEGAL: Record<string, Phase> = {
  'SCHEDULED/deploy': 'INITIALISING',
  'SCHEDULED/retire': 'CLEANING_UP',
  'INITIALISING/promote': 'SERVING',
  'INITIALISING/retire': 'CLEANING_UP',
  'SERVING/standBy': 'STANDING_BY',
  'SERVING/retire': 'CLEANING_UP',
  'STANDING_BY/reinstate': 'SERVING',
  'STANDING_BY/retire': 'CLEANING_UP',
  'CLEANING_UP/cleaned': 'OBSOLETE',
};

/** The events a phase takes, read from the machine itself. */
function allowedPhaseEvents(from: Phase): PhaseEvent[] {
  return PHASE_EVENTS.filter((e) => {
    try {
      nextPhase(from, e);
      return true;
    } catch {
      return false;
    }
  });
}

const pairs: [Phase, PhaseEvent][] = PHASES.flatMap((p) => PHASE_EVENTS.map((e) => [p, e] as [Phase, PhaseEvent]));

describe('phase machine', () => {
  test(`covers all ${PHASES.length * PHASE_EVENTS.length} (phase, event) pairs`, () => {
    expect(pairs).toHaveLength(36);
  });

  test.each(pairs)('%s on %s', (phase, event) => {
    const expected = LEGAL[`${phase}/${event}`];
    if (expected) {
      expect(nextPhase(phase, event)).toBe(expected);
    } else {
      expect(() => nextPhase(phase, event)).toThrow(IllegalTransitionError);
      expect(() => nextPhase(phase, event)).toThrow(`'${event}' is not allowed in ${phase}`);
    }
  });

  test('OBSOLETE is final and every other phase can reach it', () => {
    expect(allowedPhaseEvents('OBSOLETE')).toEqual([]);
    for (const start of PHASES) {
      const seen = new Set<Phase>([start]);
      const queue: Phase[] = [start];
      while (queue.length) {
        const at = queue.shift()!;
        for (const e of allowedPhaseEvents(at)) {
          const n = nextPhase(at, e);
          if (!seen.has(n)) {
            seen.add(n);
            queue.push(n);
          }
        }
      }
      expect(seen.has('OBSOLETE')).toBe(true);
    }
  });

  test('the typed error carries what was refused', () => {
    try {
      nextPhase('OBSOLETE', 'reinstate');
      throw new Error('not refused');
    } catch (err) {
      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect(err).toMatchObject({ machine: 'phase', from: 'OBSOLETE', event: 'reinstate' });
    }
  });
});

const LEGAL_STATUS = new Set([
  'RUNNING>AWAITING_APPROVAL',
  'RUNNING>ROLLING_BACK',
  'RUNNING>SUCCEEDED',
  'RUNNING>FAILED',
  'AWAITING_APPROVAL>RUNNING',
  'AWAITING_APPROVAL>ROLLING_BACK',
  'AWAITING_APPROVAL>FAILED',
  'ROLLING_BACK>ROLLED_BACK',
  'ROLLING_BACK>FAILED',
]);

describe('status machine', () => {
  const statusPairs: [UpgradeStatus, UpgradeStatus][] = STATUSES.flatMap((a) => STATUSES.map((b) => [a, b] as [UpgradeStatus, UpgradeStatus]));
  test.each(statusPairs)('%s -> %s', (from, to) => {
    if (LEGAL_STATUS.has(`${from}>${to}`)) expect(nextStatus(from, to)).toBe(to);
    else expect(() => nextStatus(from, to)).toThrow(IllegalTransitionError);
  });

  test('terminal statuses', () => {
    expect(STATUSES.filter(isTerminal)).toEqual(['SUCCEEDED', 'ROLLED_BACK', 'FAILED']);
  });
});
