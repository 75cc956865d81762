/**
 * Notifications from workflow code: each event a sink subscribed to (the
 * input's notifications) becomes one delivery activity per sink, started
 * and not awaited, so a slow or dead receiver never holds a step up. The
 * run waits for its deliveries before it returns (delivered()), so none is
 * dropped by the workflow's end; each is bounded by its own time limit. An
 * event no sink wants schedules nothing, so a run without sinks records the
 * commands it always did.
 */
import { CancellationScope, patched, proxyActivities } from '@temporalio/workflow';
import type { NotificationActivities } from '../activities/notifications';
import { DELIVERY, type EvidenceSection, type NotificationEvent, type NotificationSubscription, type NotificationSummary } from '../domain/notifications';
import type { UpgradeState } from '../domain/upgrade';
import { gateEvidence } from '../view/gateEvidence';
import { callActivity } from './activityOptions';
import { rootCause } from './failures';

/** Patch: runs that subscribed to notifications and were recorded by a worker without them deliver none on replay. */
export const NOTIFICATIONS = 'notifications';

const { deliverNotification } = proxyActivities<NotificationActivities>({
  startToCloseTimeout: DELIVERY.attemptMs,
  scheduleToCloseTimeout: DELIVERY.totalMs,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['Misconfigured', 'Rejected'] },
});

export class Notifier {
  private readonly pending: Promise<void>[] = [];
  private sequence = 0;

  constructor(
    private readonly subscriptions: NotificationSubscription[],
    /** Told of a delivery that failed for good (recorded in the state's transitions). */
    private readonly undelivered: (why: string) => void,
  ) {}

  /**
   * Deliver the event to the sinks that want it. The summary is read from
   * the state once the change that caused the event is complete (a
   * microtask later: e.g. a gate's waiting-for line, set after its status).
   */
  notify(event: NotificationEvent, state: UpgradeState, by: string, why: string): void {
    const sinks = this.subscriptions.filter((s) => s.events.includes(event)).map((s) => s.sink);
    if (!sinks.length || !patched(NOTIFICATIONS)) return;
    const sequence = ++this.sequence;
    const delivered = Promise.resolve().then(() => {
      const summary = summaryOf(state, event, sequence, by, why);
      // not cancelled with the step that caused it, nor by a Temporal cancellation of the run
      return CancellationScope.nonCancellable(() =>
        Promise.all(
          sinks.map((sink) =>
            callActivity(deliverNotification, `notify ${sink}: ${event}`, { sink, summary }).catch((err: unknown) => {
              this.undelivered(`notification ${event} to ${sink} not delivered: ${rootCause(err).message}`);
            }),
          ),
        ),
      );
    });
    this.pending.push(delivered.then(() => undefined));
  }

  /** Resolves when every delivery started so far has ended (delivered, or given up after its time limit). */
  async delivered(): Promise<void> {
    for (let seen = -1; seen !== this.pending.length; ) {
      seen = this.pending.length;
      await Promise.all(this.pending);
    }
  }
}

function summaryOf(state: UpgradeState, event: NotificationEvent, sequence: number, by: string, reason: string): NotificationSummary {
  const gate =
    event === 'awaiting-approval'
      ? { approvalGate: state.approval.gate, autoPromoteAt: state.approval.autoPromoteAt, evidence: evidenceOf(state) }
      : undefined;
  return {
    event,
    sequence,
    at: new Date().toISOString(),
    upgradeId: state.upgradeId,
    kind: state.kind,
    target: state.target,
    fromVersion: state.releases.blue?.version,
    toVersion: state.version,
    status: state.status,
    step: state.step,
    by,
    reason,
    requestedBy: state.requestedBy,
    waitingFor: state.waitingFor,
    traffic: { ...state.traffic },
    pointOfNoReturnPassed: state.pointOfNoReturnPassed,
    ...(state.failure ? { failure: { ...state.failure } } : {}),
    ...(gate ? { gate } : {}),
  };
}

/** The console's evidence sections as plain text (their tones are the console's). */
function evidenceOf(state: UpgradeState): EvidenceSection[] {
  return gateEvidence({ ...state, execution: 'RUNNING', links: { self: '' } }).map((s) => ({
    title: s.title,
    ...(s.rows ? { rows: s.rows.map((r) => ({ label: r.label, value: r.value })) } : {}),
    ...(s.table ? { table: { columns: s.table.columns, rows: s.table.rows.map((cells) => cells.map((c) => c.text)) } } : {}),
  }));
}
