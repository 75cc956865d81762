/**
 * The one workflow that drives every upgrade through the skeleton of
 * DESIGN.md; a Strategy per kind fills in the steps. Rollback is a saga:
 * each step registers its compensation before it runs, and a rollback runs
 * them in reverse.
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { decideAbort, decideApprove, decideRollback, type Decision } from '../domain/decisions';
import { formatDuration } from '../domain/duration';
import { nextPhase, type PhaseEvent } from '../domain/phases';
import { nextStatus, type UpgradeStatus } from '../domain/status';
import {
  STEPS,
  releaseName,
  upgradeIdOf,
  type ReleaseRef,
  type ReleaseState,
  type Step,
  type UpgradeInput,
  type UpgradeState,
} from '../domain/upgrade';
import {
  CONFLICT_FAILURE,
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  rollbackSignal,
  rollbackUpdate,
  stateQuery,
  type SteeringRequest,
} from './messages';
import { KIND, PHASE, STATUS, TARGET } from './searchAttributes';
import { metrics } from './sinks';
import type { Strategy, StrategyContext } from './strategy';

type StopKind = 'rollback' | 'abort';

const STEERING = {
  approve: [approveSignal, approveUpdate],
  rollback: [rollbackSignal, rollbackUpdate],
  abort: [abortSignal, abortUpdate],
} as const;

/** A step that failed for good; the upgrade rolls back with this as its cause. */
class StepFailed extends Error {
  constructor(
    readonly step: Step,
    message: string,
    readonly type?: string,
  ) {
    super(message);
  }
}

/** Someone asked to stop (rollback / abort signal or update, or workflow cancellation). */
class StopRequested extends Error {}

function describe(err: unknown): { message: string; type?: string } {
  // An activity failure wraps the application failure that says what went wrong.
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const type = e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined;
  return { message: e instanceof Error ? e.message : String(e), type };
}

class Upgrade {
  readonly state: UpgradeState;
  private readonly compensations: { step: Step; undo: () => Promise<void> }[] = [];
  private stop?: { kind: StopKind; by: string; why: string };
  private stepScope?: CancellationScope;
  private approved?: SteeringRequest;
  private blue!: ReleaseRef;
  private green!: ReleaseRef;

  private strategy!: Strategy;

  constructor(
    private readonly input: UpgradeInput,
    private readonly strategyFor: (kind: UpgradeInput['kind']) => Strategy | undefined,
  ) {
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
  }

  installHandlers(): void {
    setHandler(stateQuery, () => this.state);
    const distinct = this.input.options.requireDistinctApprover;
    this.steer('approve', (req) => decideApprove(this.state, req.by, distinct), (req) => this.approve(req));
    this.steer('rollback', () => decideRollback(this.state), (req) => this.requestStop('rollback', req));
    this.steer('abort', () => decideAbort(this.state), (req) => this.requestStop('abort', req));
  }

  /** One steering action as a signal (a refusal is recorded) and as an update (a refusal is the answer). */
  private steer(name: keyof typeof STEERING, decide: (req: SteeringRequest) => Decision, act: (req: SteeringRequest) => void): void {
    const [signal, update] = STEERING[name];
    setHandler(signal, (req) => {
      const d = decide(req);
      if (d.ok) act(req);
      else this.record({ what: 'signal', by: req.by, why: `${name} refused: ${d.reason}` });
    });
    setHandler(
      update,
      (req) => {
        act(req);
        return { accepted: true, status: this.state.status };
      },
      {
        // synchronous and throwing: the SDK ignores a returned promise
        validator: (req) => {
          const d = decide(req);
          if (!d.ok) throw ApplicationFailure.nonRetryable(d.reason, CONFLICT_FAILURE);
        },
      },
    );
  }

  async run(): Promise<UpgradeState> {
    metrics.upgradeStatus({ target: this.input.target, kind: this.input.kind, status: 'RUNNING' });
    try {
      for (const step of STEPS) {
        if (this.stop) throw new StopRequested();
        if (step === 'plan') await this.plan();
        else if (step === 'gate') await this.gate();
        else if (step === 'standBy') await this.standBy();
        else await this.runStep(step);
      }
      this.setWaitingFor('nothing: the upgrade succeeded');
      this.setStatus('SUCCEEDED', 'cutover', `${this.green.name} serves ${this.input.target}`);
    } catch (err) {
      await this.onStopped(err);
    }
    this.state.endedAt = new Date().toISOString();
    await condition(allHandlersFinished);
    return this.state;
  }

  // ---- steering -----------------------------------------------------------

  private approve(req: SteeringRequest): void {
    this.approved = req;
    this.state.approval.approvedBy = req.by;
    this.state.approval.approvedAt = new Date().toISOString();
    this.record({ what: 'signal', by: req.by, why: `approved: ${req.reason}` });
  }

  private requestStop(kind: StopKind, req: SteeringRequest): void {
    if (this.stop) return;
    this.stop = { kind, by: req.by, why: req.reason };
    this.record({ what: 'signal', by: req.by, why: `${kind} requested: ${req.reason}` });
    this.stepScope?.cancel();
  }

  // ---- the skeleton's steps ----------------------------------------------

  private async plan(): Promise<void> {
    this.enterStep('plan');
    const strategy = this.strategyFor(this.input.kind);
    if (!strategy) throw new StepFailed('plan', `this worker has no strategy for kind ${this.input.kind}`, 'Misconfigured');
    this.strategy = strategy;
    const { blue } = await this.guard('plan', () => this.strategy.plan(this.input));
    const green = { name: releaseName(this.input.target, this.input.version), version: this.input.version };
    if (green.name === blue.name || green.version === blue.version) {
      throw new StepFailed('plan', `${this.input.target} already runs ${blue.version} (release ${blue.name})`, 'Invalid');
    }
    this.blue = blue;
    this.green = green;
    const now = new Date().toISOString();
    this.state.releases = {
      blue: { ...blue, role: 'blue', phase: 'SERVING', since: now },
      green: { ...green, role: 'green', phase: 'SCHEDULED', since: now },
    };
    this.record({ what: 'phase', release: green.name, to: 'SCHEDULED', by: 'cutover', why: `upgrade from ${blue.version}` });
    this.upsertSearchAttributes();
  }

  private async runStep(step: Exclude<Step, 'plan' | 'gate' | 'standBy'>): Promise<void> {
    const handler = this.strategy[step];
    this.enterStep(step);
    if (step === 'finalize') {
      // From here the old release cannot serve again: rollback is refused even while finalize runs.
      this.state.pointOfNoReturnPassed = true;
      this.record({ what: 'step', by: 'cutover', why: 'point of no return: rollback is refused from now on' });
    }
    if (step === 'deployGreen') this.transition('green', 'deploy', 'green workload requested');
    if (step === 'cleanUpBlue') this.transition('blue', 'retire', 'standby window over');
    if (handler) {
      if (handler.undo) {
        const undo = handler.undo;
        this.compensations.push({ step, undo: () => undo(this.context()) });
        this.state.compensations.push({ step, state: 'registered' });
      }
      await this.guard(step, () => handler.run(this.context()));
    }
    if (step === 'promote') {
      this.transition('green', 'promote', 'traffic moved to green');
      this.transition('blue', 'standBy', 'traffic moved to green');
      this.state.traffic = { blue: 0, green: 100 };
    }
    if (step === 'cleanUpBlue') this.transition('blue', 'cleaned', 'blue removed');
  }

  private async gate(): Promise<void> {
    this.enterStep('gate');
    const { approval, autoPromoteAfterMs, stepTimeoutMs } = this.input.options;
    if (approval === 'auto') {
      this.record({ what: 'step', by: 'cutover', why: 'approval mode auto: no gate' });
      return;
    }
    const limit = autoPromoteAfterMs ?? stepTimeoutMs.gate;
    if (autoPromoteAfterMs !== undefined) {
      this.state.approval.autoPromoteAt = new Date(Date.now() + autoPromoteAfterMs).toISOString();
    }
    this.setStatus('AWAITING_APPROVAL', 'cutover', 'green is ready and verified');
    this.setWaitingFor(
      autoPromoteAfterMs !== undefined
        ? `approval, or auto-promotion at ${this.state.approval.autoPromoteAt}`
        : `approval (signal or update 'approve')${limit ? `, for at most ${formatDuration(limit)}` : ''}`,
    );
    const summary = autoPromoteAfterMs !== undefined ? 'auto-promotion delay' : 'approval time limit';
    const decided = limit === undefined
      ? (await condition(() => !!this.approved || !!this.stop), true)
      : await condition(() => !!this.approved || !!this.stop, limit, { summary });
    if (this.stop) throw new StopRequested();
    if (!decided) {
      if (autoPromoteAfterMs === undefined) {
        throw new StepFailed('gate', `no approval within ${formatDuration(limit!)}`, 'ApprovalTimeout');
      }
      this.state.approval.approvedBy = 'auto-promotion';
      this.state.approval.approvedAt = new Date().toISOString();
      this.record({ what: 'signal', by: 'cutover', why: `auto-promoted after ${formatDuration(autoPromoteAfterMs)}` });
    }
    this.setStatus('RUNNING', this.state.approval.approvedBy ?? 'cutover', 'approved');
  }

  private async standBy(): Promise<void> {
    this.enterStep('standBy');
    const window = this.input.options.standbyWindowMs;
    const until = new Date(Date.now() + window).toISOString();
    this.setWaitingFor(`standby window until ${until}: rollback is instant until then`);
    await condition(() => !!this.stop, window, { summary: `standby window (${formatDuration(window)})` });
    if (this.stop) throw new StopRequested();
  }

  // ---- failure and rollback ----------------------------------------------

  /** Run one step's work in a scope that rollback and the step's time limit can cancel. */
  private async guard<T>(step: Step, work: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    const timers = new CancellationScope();
    const limit = this.input.options.stepTimeoutMs[step];
    let timedOut = false;
    this.stepScope = scope;
    if (limit !== undefined) {
      timers
        .run(() => sleep(limit, { summary: `${step} time limit` }))
        .then(() => {
          timedOut = true;
          scope.cancel();
        })
        .catch(() => undefined);
    }
    try {
      return await scope.run(work);
    } catch (err) {
      if (timedOut) throw new StepFailed(step, `step ${step} did not finish within its time limit of ${formatDuration(limit!)}`, 'StepTimeout');
      if (this.stop) throw new StopRequested();
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
        this.requestStop('abort', { by: 'temporal', reason: 'workflow cancellation requested' });
        throw new StopRequested();
      }
      if (err instanceof StepFailed) throw err;
      const { message, type } = describe(err);
      throw new StepFailed(step, message, type);
    } finally {
      this.stepScope = undefined;
      timers.cancel();
    }
  }

  private async onStopped(err: unknown): Promise<void> {
    if (!(err instanceof StepFailed || err instanceof StopRequested)) throw err;
    const failure = err instanceof StepFailed ? { step: err.step, message: err.message, type: err.type } : undefined;
    if (failure) this.state.failure = failure;
    if (this.state.pointOfNoReturnPassed) {
      const why = failure
        ? `${failure.step} failed after the point of no return: ${failure.message}`
        : `aborted by ${this.stop!.by} after the point of no return: ${this.stop!.why}`;
      this.state.failure ??= { step: this.state.step ?? 'finalize', message: why, type: 'Aborted' };
      this.setWaitingFor(`manual attention: blue ${this.blue.name} is ${this.state.releases.blue?.phase}`);
      this.setStatus('FAILED', this.stop?.by ?? 'cutover', why);
      return;
    }
    const by = this.stop?.by ?? 'cutover';
    const why = failure ? `${failure.step} failed: ${failure.message}` : `${this.stop!.kind}: ${this.stop!.why}`;
    await this.rollback(by, why);
  }

  private async rollback(by: string, why: string): Promise<void> {
    this.setStatus('ROLLING_BACK', by, why);
    await CancellationScope.nonCancellable(async () => {
      const promoted = this.compensations.some((c) => c.step === 'promote');
      if (!promoted) this.swapBack(by);
      for (let i = this.compensations.length - 1; i >= 0; i--) {
        const { step, undo } = this.compensations[i];
        const record = this.state.compensations.find((c) => c.step === step)!;
        record.state = 'running';
        this.setWaitingFor(`rolling back: undoing ${step}`);
        try {
          await undo();
        } catch (err) {
          record.state = 'failed';
          const { message } = describe(err);
          this.state.failure = { step: 'rollback', message: `undoing ${step} failed: ${message}` };
          this.setWaitingFor(`manual attention: rollback stopped at ${step}`);
          this.setStatus('FAILED', 'cutover', this.state.failure.message);
          return;
        }
        record.state = 'done';
        if (step === 'promote') this.swapBack(by);
      }
      const green = this.state.releases.green;
      if (green?.phase === 'SCHEDULED') this.transition('green', 'retire', 'rolled back');
      if (green?.phase === 'CLEANING_UP') this.transition('green', 'cleaned', 'rolled back');
      this.setWaitingFor(`nothing: rolled back, ${this.blue?.name ?? 'blue'} serves`);
      this.setStatus('ROLLED_BACK', by, why);
    });
  }

  /** Blue serves again and green leaves service, in one step so one release always serves. */
  private swapBack(by: string): void {
    const { blue, green } = this.state.releases;
    if (blue?.phase === 'STANDING_BY') this.transition('blue', 'reinstate', `rollback by ${by}`);
    if (green && green.phase !== 'CLEANING_UP' && green.phase !== 'OBSOLETE' && green.phase !== 'SCHEDULED') {
      this.transition('green', 'retire', `rollback by ${by}`);
    }
    this.state.traffic = { blue: 100, green: 0 };
  }

  // ---- state bookkeeping --------------------------------------------------

  private context(): StrategyContext {
    return {
      input: this.input,
      blue: this.blue,
      green: this.green,
      report: (key, value) => {
        this.state.details[key] = value;
      },
      waitingFor: (text) => this.setWaitingFor(text),
      setTraffic: (weights) => {
        this.state.traffic = weights;
      },
    };
  }

  private enterStep(step: Step): void {
    this.record({ what: 'step', from: this.state.step ?? undefined, to: step, by: 'cutover', why: 'next step' });
    this.state.step = step;
    this.setWaitingFor(`step ${step}`);
  }

  private transition(role: 'blue' | 'green', event: PhaseEvent, why: string): void {
    const release = this.state.releases[role] as ReleaseState;
    const from = release.phase;
    release.phase = nextPhase(from, event);
    release.since = new Date().toISOString();
    this.record({ what: 'phase', release: release.name, from, to: release.phase, by: 'cutover', why });
    this.upsertSearchAttributes();
  }

  private setStatus(to: UpgradeStatus, by: string, why: string): void {
    const from = this.state.status;
    this.state.status = nextStatus(from, to);
    this.record({ what: 'status', from, to, by, why });
    metrics.upgradeStatus({ target: this.input.target, kind: this.input.kind, status: to });
    this.upsertSearchAttributes();
  }

  private setWaitingFor(text: string): void {
    this.state.waitingFor = text;
    setCurrentDetails(`**${this.state.status}** ${this.state.step ? `at ${this.state.step}` : ''}: ${text}`);
  }

  private record(t: Omit<UpgradeState['transitions'][number], 'at'>): void {
    this.state.transitions.push({ at: new Date().toISOString(), ...t });
  }

  private upsertSearchAttributes(): void {
    // target and kind too: an upgrade started from the Temporal CLI carries none
    upsertSearchAttributes([
      { key: TARGET, value: this.input.target },
      { key: KIND, value: this.input.kind },
      { key: STATUS, value: this.state.status },
      { key: PHASE, value: this.state.releases.green?.phase ?? 'SCHEDULED' },
    ]);
  }
}

export function createBlueGreenUpgrade(strategyFor: (kind: UpgradeInput['kind']) => Strategy | undefined) {
  return async function blueGreenUpgrade(input: UpgradeInput): Promise<UpgradeState> {
    const upgrade = new Upgrade(input, strategyFor);
    upgrade.installHandlers();
    return upgrade.run();
  };
}
