/**
 * The worst-case history of an upgrade, estimated from its input before it
 * starts, and the budget it must fit. Temporal ends a run whose history
 * passes 51,200 events or 50 MB (warning at 10,240 and 10 MB) and refuses a
 * payload over 2 MB (warning at 512 KB); the state, the query's answer and
 * the run's result, is one payload. Each figure below is an upper bound
 * measured on the real workflow (`npm run bench`, section historyBudget),
 * where sizes are the history's JSON as `temporal workflow show` writes it,
 * payloads in base64.
 */
import { MAX_READY_REPORTS } from './decisions';
import type { UpgradeInput } from './upgrade';

export const HISTORY_BUDGET = {
  events: 5_000,
  bytes: 4 * 1024 * 1024,
  /** The largest single payload (the workflow's input, or its state): half what Temporal takes. */
  payloadBytes: 1024 * 1024,
};

/** The skeleton and a kind's own steps, a rollback included (a 3-node EMQX upgrade records 188 events, 103 KB). */
const BASE = { events: 600, bytes: 400 * 1024, stateBytes: 64 * 1024 };
/** What one event adds to the history besides its payloads (measured: 380 on average, an activity's scheduling 870, the largest). */
const EVENT_BYTES = 500;
/** A traffic step: its weights (an activity and a workflow task), its pause (a timer), the phases it moves (measured: 11.4). */
const STEP = { events: 15, stateBytes: 600 };
/**
 * An analysis run: its activity and workflow task (measured: 5.9); in the
 * state its result (KEPT_MEASUREMENTS measurements, each message at most 200
 * characters, and the counts) and its transition.
 */
const RUN = { events: 6, resultBytes: 3_500, stateBytes: 4_000 };
/** Waiting for a person: the status there and back, the approval (an update and its workflow task, a reason of 500 characters), the gate's timer. */
const GATE = { events: 10, stateBytes: 1_500, payloadBytes: 600 };
/**
 * A notification's delivery to one sink: its activity (scheduled, started,
 * completed) and the workflow task that hears of it (measured: 6.5, the
 * scripted happy path with a sink of every event against it without); its
 * input the summary, at a gate with the evidence: the kind's sections and a
 * row per analysis run.
 */
const DELIVERY = { events: 7, payloadBytes: 2_000, evidenceBytes: 4_000, perRunBytes: 300 };
/** A ready report: its update (500 characters of detail at most) and its transition. */
const REPORT = { events: 5, stateBytes: 700, payloadBytes: 600 };

export interface HistoryEstimate {
  events: number;
  bytes: number;
  /** The largest single payload. */
  payloadBytes: number;
}

const base64 = (bytes: number) => Math.ceil(bytes / 3) * 4;
const jsonBytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

/**
 * The history if everything that can take events does: every analysis run
 * inconclusive and waiting for a person, every gate waited at, every ready
 * report a release may send recorded, and a rollback at the end.
 */
export function estimateHistory(input: UpgradeInput): HistoryEstimate {
  const o = input.options;
  const steps = o.traffic;
  const runs = [...o.verifyAnalysis, ...steps.flatMap((s) => s.analysis)];
  const gates = o.approveBefore.length + steps.filter((s) => s.approve).length + runs.length;
  // every subscribed event once (a run ends one way only, counted as if all three), the gate's at every gate
  const subscriptions = input.notifications ?? [];
  const delivered = subscriptions.reduce((sum, s) => sum + s.events.reduce((n, e) => n + (e === 'awaiting-approval' ? gates : 1), 0), 0);
  const gateDeliveries = subscriptions.filter((s) => s.events.includes('awaiting-approval')).length * gates;
  const events =
    BASE.events + steps.length * STEP.events + runs.length * RUN.events + gates * GATE.events + MAX_READY_REPORTS * REPORT.events + delivered * DELIVERY.events;
  const stateBytes = BASE.stateBytes + steps.length * STEP.stateBytes + runs.length * RUN.stateBytes + gates * GATE.stateBytes + MAX_READY_REPORTS * REPORT.stateBytes;
  const inputBytes = jsonBytes(input);
  // Each run's activity carries its check (and the release names); the state at the end is the run's result.
  const payloads =
    inputBytes +
    runs.reduce((sum, check) => sum + jsonBytes(check) + 200 + RUN.resultBytes, 0) +
    gates * GATE.payloadBytes +
    MAX_READY_REPORTS * REPORT.payloadBytes +
    delivered * DELIVERY.payloadBytes +
    gateDeliveries * (DELIVERY.evidenceBytes + runs.length * DELIVERY.perRunBytes) +
    stateBytes;
  return {
    events,
    bytes: BASE.bytes + (events - BASE.events) * EVENT_BYTES + base64(payloads),
    payloadBytes: Math.max(inputBytes, stateBytes),
  };
}

/** What is over the budget, in words, or undefined. */
export function overBudget(e: HistoryEstimate): string | undefined {
  const over = [
    e.events > HISTORY_BUDGET.events ? `${e.events} events (budget ${HISTORY_BUDGET.events})` : '',
    e.bytes > HISTORY_BUDGET.bytes ? `${kib(e.bytes)} of history (budget ${kib(HISTORY_BUDGET.bytes)})` : '',
    e.payloadBytes > HISTORY_BUDGET.payloadBytes ? `a payload of ${kib(e.payloadBytes)} (budget ${kib(HISTORY_BUDGET.payloadBytes)})` : '',
  ].filter(Boolean);
  return over.length ? over.join(', ') : undefined;
}

const kib = (bytes: number) => `${Math.ceil(bytes / 1024)} KiB`;
