/**
 * The upgrade's state as the state query, the search attributes and the
 * Temporal UI show it, and the only ways it changes: every change is a
 * recorded transition with who and why.
 */
import { patched, setCurrentDetails, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { LAST_KNOWN_STATE_MEMO, lastKnownState } from '../domain/lastKnownState';
import { nextPhase, type PhaseEvent } from '../domain/phases';
import { ANALYSIS_FAILURES, STATUS_EVENT } from '../domain/notifications';
import { nextStatus, type UpgradeStatus } from '../domain/status';
import { phaseEventsForWeight, type Role } from '../domain/traffic';
import { upgradeIdOf, type ReleaseState, type Step, type UpgradeInput, type UpgradeState } from '../domain/upgrade';
import type { StepWindow } from './activityOptions';
import type { SteeringRequest } from './messages';
import { Notifier } from './notifier';
import { KIND, PHASE, STATUS, TARGET } from './searchAttributes';
import { metrics } from './sinks';

export type StopKind = 'rollback' | 'abort';

/** Patch: the state's summary is published in the memo too (runs from before replay without it). */
export const STATE_MEMO = 'state-memo';

export class UpgradeStateKeeper {
  readonly state: UpgradeState;
  /** Set once by a rollback or abort request, or a Temporal cancellation. */
  stop?: { kind: StopKind; by: string; why: string };
  /** The approval the gate that waits now received. */
  approved?: SteeringRequest;
  /** When the running step's time limit runs out (set by the skeleton around each step's work; absent: no limit). */
  stepDeadline?: number;
  /** Tells the sinks that subscribed of the events these changes are. */
  readonly notifier: Notifier;

  constructor(readonly input: UpgradeInput) {
    const now = new Date().toISOString();
    this.state = {
      upgradeId: upgradeIdOf(input.target, workflowInfo().runId),
      kind: input.kind,
      target: input.target,
      version: input.version,
      requestedBy: input.requestedBy,
      startedAt: now,
      status: 'RUNNING',
      step: null,
      waitingFor: 'starting',
      releases: { blue: null, green: null },
      traffic: { blue: 100, green: 0 },
      approval: { mode: input.options.approval },
      pointOfNoReturnPassed: false,
      compensations: [],
      transitions: [{ at: now, what: 'status', to: 'RUNNING', by: input.requestedBy, why: input.reason ?? 'upgrade requested' }],
      details: {},
    };
    metrics.upgradeStatus({ target: input.target, kind: input.kind, status: 'RUNNING' });
    this.notifier = new Notifier(input.notifications ?? [], (why) => this.record({ what: 'step', by: 'cutover', why }));
    this.notifier.notify('started', this.state, input.requestedBy, input.reason ?? 'upgrade requested');
  }

  /** The running step and its deadline: what bounds the retries of its calls. */
  get window(): StepWindow {
    return { step: this.state.step ?? 'plan', deadline: this.stepDeadline };
  }

  enterStep(step: Step): void {
    this.finishStep('completed');
    this.record({ what: 'step', from: this.state.step ?? undefined, to: step, by: 'cutover', why: 'next step' });
    this.state.step = step;
    this.stepStartedAt = Date.now();
    this.setWaitingFor(`step ${step}`);
  }

  private stepStartedAt?: number;

  /** The step duration metric: a step ends when the next begins, or when the upgrade ends. */
  finishStep(outcome: 'completed' | 'failed'): void {
    if (this.state.step === null || this.stepStartedAt === undefined) return;
    metrics.stepFinished({ kind: this.input.kind, step: this.state.step, seconds: (Date.now() - this.stepStartedAt) / 1000, outcome });
    this.stepStartedAt = undefined;
  }

  transition(role: Role, event: PhaseEvent, why: string): void {
    const release = this.state.releases[role] as ReleaseState;
    const from = release.phase;
    release.phase = nextPhase(from, event);
    release.since = new Date().toISOString();
    this.record({ what: 'phase', release: release.name, from, to: release.phase, by: 'cutover', why });
    this.upsertSearchAttributes();
  }

  /** Record green's new router weight and the phases it implies (both at one instant). */
  weighted(greenWeight: number, why: string): void {
    const { blue, green } = this.state.releases as Record<Role, ReleaseState>;
    for (const { role, event } of phaseEventsForWeight({ blue: blue.phase, green: green.phase }, greenWeight)) this.transition(role, event, why);
    this.state.traffic = { blue: 100 - greenWeight, green: greenWeight };
  }

  setStatus(to: UpgradeStatus, by: string, why: string): void {
    const from = this.state.status;
    this.state.status = nextStatus(from, to);
    this.record({ what: 'status', from, to, by, why });
    // an analysis that ends the upgrade is an event before the rollback's (it is the failure that causes it)
    if ((to === 'ROLLING_BACK' || (to === 'FAILED' && from !== 'ROLLING_BACK')) && ANALYSIS_FAILURES.includes(this.state.failure?.type ?? '')) {
      this.notifier.notify('analysis-failed', this.state, by, this.state.failure!.message);
    }
    const event = STATUS_EVENT[to];
    if (event) this.notifier.notify(event, this.state, by, why);
    metrics.upgradeStatus({ target: this.input.target, kind: this.input.kind, status: to });
    if (to === 'SUCCEEDED') this.finishStep('completed');
    if (to === 'ROLLING_BACK' || to === 'FAILED') this.finishStep('failed');
    this.upsertSearchAttributes();
  }

  /** From here the old release cannot serve again: rollback is refused even while the step runs. */
  passPointOfNoReturn(): void {
    this.state.pointOfNoReturnPassed = true;
    const why = 'point of no return: rollback is refused from now on';
    this.record({ what: 'step', by: 'cutover', why });
    this.notifier.notify('point-of-no-return-passed', this.state, 'cutover', why);
  }

  /** One line for the state query and the Temporal UI's current details. */
  setWaitingFor(text: string): void {
    this.state.waitingFor = text;
    const { blue, green } = this.state.traffic;
    const split = green > 0 && green < 100 ? ` (traffic blue ${blue} / green ${green})` : '';
    setCurrentDetails(`**${this.state.status}** ${this.state.step ? `at ${this.state.step}` : ''}${split}: ${text}`);
    this.publishLastKnown();
  }

  record(t: Omit<UpgradeState['transitions'][number], 'at'>): void {
    this.state.transitions.push({ at: new Date().toISOString(), ...t });
  }

  upsertSearchAttributes(): void {
    // target and kind too: an upgrade started from the Temporal CLI carries none
    upsertSearchAttributes([
      { key: TARGET, value: this.input.target },
      { key: KIND, value: this.input.kind },
      { key: STATUS, value: this.state.status },
      { key: PHASE, value: this.state.releases.green?.phase ?? 'SCHEDULED' },
    ]);
    this.publishLastKnown();
  }

  private lastPublished?: string;
  private publishing = false;

  /**
   * The memo keeps the state as of the last completed workflow task, so the
   * API can show it when the state query cannot run (a workflow task that
   * keeps failing). The changes one activation makes are published together,
   * once they are all made (a microtask later), and only if the summary
   * changed: each publication is one history event.
   */
  private publishLastKnown(): void {
    if (this.publishing) return;
    this.publishing = true;
    void Promise.resolve().then(() => {
      this.publishing = false;
      if (!patched(STATE_MEMO)) return;
      const summary = lastKnownState(this.state);
      const json = JSON.stringify(summary);
      if (json === this.lastPublished) return;
      this.lastPublished = json;
      upsertMemo({ [LAST_KNOWN_STATE_MEMO]: summary });
    });
  }
}
