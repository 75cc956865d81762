/**
 * A node's evacuation as EMQX runs it (emqx_node_rebalance_evacuation.erl, a
 * gen_statem): waiting_health_check for wait_health_check seconds, then
 * evicting_conns (conn_evict_rate connections closed per second, one step
 * per ?EVICT_INTERVAL of 1 s) until none is left, waiting_takeover for
 * wait_takeover seconds, evicting_sessions (sess_evict_rate sessions handed
 * to the recipients per second; with none available it tries again later),
 * then prohibiting until stopped. Pure: the sandbox node applies a step to
 * its real clients and sessions, the test suite's EMQX API to its counts.
 */
import type { EvacuationRequest } from './evacuationRequest';

export type EvacuationState = 'waiting_health_check' | 'evicting_conns' | 'waiting_takeover' | 'evicting_sessions' | 'prohibiting';

/** The evacuation as EMQX persists it: it survives a node restart, which resumes it at evicting_conns. */
export interface EvacuationRecord extends EvacuationRequest {
  state: EvacuationState;
  initialConns: number;
  initialSessions: number;
  /** What the last eviction step saw (stats.current_* of global_status: init_data, then each step's count). */
  currentConns: number;
  currentSessions: number;
  /** Epoch ms when the current state began. */
  since: number;
  /** Before 5.4.0 a start with the eviction agent held elsewhere is accepted; the evacuation then ends after the health check. */
  agentBusy?: boolean;
}

/** What a node sees when a step runs. */
export interface StepInput {
  now: number;
  live: number;
  sessions: number;
  /** Nodes available to take sessions now (migrate_to's running, non-evacuating ones, or every other such node). */
  recipients: number;
}

/** The record after the step (null: the evacuation ended by itself), and what to do to the node's clients. */
export interface Step {
  record: EvacuationRecord | null;
  closeConnections: number;
  migrateSessions: number;
}

export function startEvacuation(r: EvacuationRequest, seen: { now: number; live: number; sessions: number }, agentBusy = false): EvacuationRecord {
  return {
    ...r,
    state: 'waiting_health_check',
    initialConns: seen.live,
    initialSessions: seen.sessions,
    currentConns: seen.live,
    currentSessions: seen.sessions,
    since: seen.now,
    ...(agentBusy ? { agentBusy } : {}),
  };
}

/**
 * A restarted node: init/1 reads the persisted options (not the state),
 * re-enables the agent and goes straight to evicting_conns, counting anew
 * (init_data), whatever state it was in.
 */
export const resumeEvacuation = (e: EvacuationRecord, seen: { now: number; live: number; sessions: number }): EvacuationRecord => ({
  ...startEvacuation(e, seen, e.agentBusy),
  state: 'evicting_conns',
});

/** One eviction step, run once per second. */
export function stepEvacuation(e: EvacuationRecord, seen: StepInput): Step {
  const waited = (sec: number): boolean => seen.now - e.since >= sec * 1000;
  const stay = (record: EvacuationRecord | null, closeConnections = 0, migrateSessions = 0): Step => ({ record, closeConnections, migrateSessions });
  const enter = (state: EvacuationState, extra: Partial<EvacuationRecord> = {}): EvacuationRecord => ({ ...e, ...extra, state, since: seen.now });
  switch (e.state) {
    case 'waiting_health_check':
      if (!waited(e.waitHealthCheckSec)) return stay(e);
      // start_eviction: the agent could not be had (before 5.4.0 only): the evacuation is disabled.
      if (e.agentBusy) return stay(null);
      return stepEvacuation(enter('evicting_conns'), seen);
    case 'evicting_conns':
      if (seen.live === 0) return stay(enter('waiting_takeover', { currentConns: 0 }));
      return stay({ ...e, currentConns: seen.live }, Math.min(e.connRate, seen.live));
    case 'waiting_takeover':
      if (!waited(e.waitTakeoverSec)) return stay(e);
      return stepEvacuation(enter('evicting_sessions'), seen);
    case 'evicting_sessions':
      if (seen.sessions === 0) return stay(enter('prohibiting', { currentSessions: 0 }));
      if (seen.recipients === 0) return stay(e);
      return stay({ ...e, currentSessions: seen.sessions }, 0, Math.min(e.sessRate, seen.sessions));
    case 'prohibiting':
      return stay(e);
  }
}
