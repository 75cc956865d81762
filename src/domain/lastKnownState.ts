/**
 * The part of an upgrade's state the workflow publishes in its memo, where
 * the API reads it when the state query cannot run (a run whose workflow task
 * keeps failing): status, step, releases, traffic, gates, failure. Kept small
 * because every change adds it to the history once more: the transitions,
 * the traffic plan's steps, analysis results and a kind's details stay in the
 * state query and the history.
 */
import type { UpgradeState } from './upgrade';

/** The memo key it is published under. */
export const LAST_KNOWN_STATE_MEMO = 'cutoverState';

const MAX_TEXT = 300;
const short = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);

export function lastKnownState(state: UpgradeState): UpgradeState {
  const { readyReport, failure } = state;
  const kept: Partial<UpgradeState> = { ...state };
  delete kept.analysis;
  delete kept.trafficSteps;
  return {
    ...(kept as UpgradeState),
    waitingFor: short(state.waitingFor),
    transitions: [],
    details: {},
    ...(readyReport ? { readyReport: { ...readyReport, detail: readyReport.detail && short(readyReport.detail) } } : {}),
    ...(failure ? { failure: { ...failure, message: short(failure.message) } } : {}),
  };
}
