/**
 * The one workflow that drives every upgrade through the skeleton (the
 * README's "How an upgrade runs"); a Strategy per kind fills in the steps. Rollback is a saga
 * (saga.ts); traffic moves by the plan (trafficPlan.ts); people approve at
 * gates (gates.ts). Any stop (rollback, abort, a Temporal cancellation) is
 * checked after every step and undoes what was done; only a terminate skips that.
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  type ActivityInterfaceFor,
  isCancellation,
  patched,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import { REFUSAL_FAILURE, decideAbort, decideApprove, decideReadyReport, decideRollback, type Decision } from '../domain/decisions';
import { formatDuration } from '../domain/duration';
import type { BlueWorkload } from '../domain/platform';
import { approvalRule } from '../domain/policy';
import { RETRY_WINDOW_MS } from '../domain/retry';
import { POINT_OF_NO_RETURN, STEPS, alreadyRuns, legacyReleaseName, releaseName, type GatedStep, type ReleaseRef, type Step, type UpgradeInput, type UpgradeState } from '../domain/upgrade';
import { completeInput, type RecordedUpgradeInput } from '../domain/upgradeSettings';
import { WAIT, retriesByTime, stepActivities, undoActivities, type ProxyOptions } from './activityOptions';
import { cancelRequester } from './cancelRequester';
import { awaitApproval, gateOptions } from './gates';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  reportReadyUpdate,
  rollbackSignal,
  rollbackUpdate,
  stateQuery,
  UNSIGNED_FAILURE,
  type ReadyRequest,
  type SteeringRequest,
} from './messages';
import { Saga } from './saga';
import { SteeringSenders, steeringRequestOf } from './steering';
import { StepFailed, StopRequested, rootCause } from './failures';
import type { GreenWorkload, StepHandler, Strategy, StrategyContext } from './strategy';
import { analyse, shiftTraffic } from './trafficPlan';
import { UpgradeStateKeeper, type StopKind } from './upgradeStateKeeper';
import { platformWorkload } from './workloadLife';

const STEERING = {
  approve: [approveSignal, approveUpdate],
  rollback: [rollbackSignal, rollbackUpdate],
  abort: [abortSignal, abortUpdate],
} as const;

/**
 * Runs started before it name releases by legacyReleaseName and pass no owner
 * to the activities (which then check no ownership, as then); runs after it
 * get names that never collide across targets and the upgrade as owner.
 */
const RELEASE_OWNERSHIP = 'release-ownership';

/** Steps the skeleton runs itself; the others are the strategy's. */
type StrategyStep = Exclude<Step, 'plan' | 'gate' | 'promote' | 'standBy'>;

/** Proxies for the calls of what runs now (a step's or an undo's), with these options. */
type Proxies = <A extends object>(options?: ProxyOptions) => ActivityInterfaceFor<A>;

class UpgradeRun {
  private readonly upgrade: UpgradeStateKeeper;
  private readonly saga: Saga;
  private readonly senders = new SteeringSenders();
  private stepScope?: CancellationScope;
  private blue!: BlueWorkload;
  private green!: ReleaseRef;
  /** The upgrade's id where its activities mark and check ownership (see RELEASE_OWNERSHIP). */
  private owner?: string;
  private strategy!: Strategy;
  /** What the strategy learned: plan's facts, with each step's since. */
  private facts: object = {};

  constructor(
    private readonly input: UpgradeInput,
    private readonly strategyFor: (kind: UpgradeInput['kind']) => Strategy | undefined,
  ) {
    this.upgrade = new UpgradeStateKeeper(input);
    this.saga = new Saga(this.upgrade);
  }

  private get state(): UpgradeState {
    return this.upgrade.state;
  }

  installHandlers(): void {
    setHandler(stateQuery, () => this.state);
    this.steer('approve', (req) => decideApprove(this.state, req, approvalRule(this.input, this.state.approval.gate)), (req) => this.approve(req));
    this.steer('rollback', () => decideRollback(this.state), (req) => this.requestStop('rollback', req));
    this.steer('abort', () => decideAbort(this.state), (req) => this.requestStop('abort', req));
    setHandler(
      reportReadyUpdate,
      async (raw) => {
        let req = steeringRequestOf<ReadyRequest>(raw);
        if (this.senders.enabled()) {
          const sender = await this.senders.senderOf('reportReady', raw);
          // a ready report moves the upgrade on: only the API, which checked the release's service token, may send it
          if (!sender.signed) this.refuse('reportReady', sender.by, `${sender.problem}: ready reports are taken only through the API (claimed by ${req.by})`, UNSIGNED_FAILURE);
          refuseUnless(decideReadyReport(this.state, req));
          req = { ...req, by: sender.by };
        }
        const reports = (this.state.readyReport?.reports ?? 0) + 1;
        this.state.readyReport = { ready: req.ready, detail: req.detail, by: req.by, at: new Date().toISOString(), reports };
        this.upgrade.record({ what: 'signal', by: req.by, why: `${req.release} reports ${req.ready ? 'ready' : 'not ready'}${req.detail ? `: ${req.detail}` : ''}` });
        return { accepted: true, status: this.state.status };
      },
      // A refused update leaves no event in the history: repeats and reports past the limit cost nothing there.
      { validator: (req) => refuseUnless(decideReadyReport(this.state, req)) },
    );
  }

  /**
   * One steering action as a signal (a refusal is recorded) and as an update
   * (a refusal is the answer, and recorded too once the update was accepted).
   * Approvals are taken only when the API signed them; a rollback or abort
   * from anyone Temporal lets send it (they could cancel the run anyway) is
   * taken, recorded with the Temporal identity that sent it.
   */
  private steer(name: keyof typeof STEERING, decide: (req: SteeringRequest) => Decision, act: (req: SteeringRequest) => void): void {
    const [signal, update] = STEERING[name];
    const checked = async (raw: unknown): Promise<SteeringRequest> => {
      const req = steeringRequestOf<SteeringRequest>(raw);
      const sender = await this.senders.senderOf(name, raw);
      const as = { ...req, by: sender.by };
      if (!sender.signed) {
        if (name === 'approve') this.refuse(name, sender.by, `${sender.problem}: approvals are taken only through the API (claimed by ${req.by})`, UNSIGNED_FAILURE);
        as.reason = `${req.reason} (${sender.problem}; claimed by ${req.by})`;
      }
      const d = decide(as);
      if (!d.ok) this.refuse(name, sender.by, d.reason, REFUSAL_FAILURE[d.refusal ?? 'conflict']);
      return as;
    };
    setHandler(signal, (raw) => {
      // runs steered before signatures replay as they ran: the request's by believed
      if (!this.senders.enabled()) {
        const d = decide(raw);
        if (d.ok) act(raw);
        else this.upgrade.record({ what: 'signal', by: raw.by, why: `${name} refused: ${d.reason}` });
        return;
      }
      return checked(raw).then(act, (err: unknown) => {
        if (!(err instanceof ApplicationFailure)) throw err; // recorded by refuse()
      });
    });
    setHandler(
      update,
      async (raw) => {
        act(this.senders.enabled() ? await checked(raw) : raw);
        return { accepted: true, status: this.state.status };
      },
      { validator: (req) => refuseUnless(decide(steeringRequestOf<SteeringRequest>(req))) },
    );
  }

  /** A refusal is recorded, and thrown as the update's answer (a signal's is dropped). */
  private refuse(name: string, by: string, reason: string, type: string): never {
    this.upgrade.record({ what: 'signal', by, why: `${name} refused: ${reason}` });
    throw ApplicationFailure.nonRetryable(reason, type);
  }

  async run(): Promise<UpgradeState> {
    try {
      for (const step of STEPS) {
        if (this.upgrade.stop) throw new StopRequested();
        await this.runStep(step);
      }
      // A stop that came while the last step finished anyway still counts: an abort never ends in success.
      if (this.upgrade.stop) throw new StopRequested();
      this.upgrade.setWaitingFor('nothing: the upgrade succeeded');
      this.upgrade.setStatus('SUCCEEDED', 'cutover', `${this.green.name} serves ${this.input.target}`);
    } catch (err) {
      // A Temporal cancellation is an abort: what follows must run whatever was cancelled.
      await CancellationScope.nonCancellable(() => this.onStopped(err));
    }
    this.state.endedAt = new Date().toISOString();
    // the run's end would drop a delivery still retrying: each is bounded by its own time limit
    await CancellationScope.nonCancellable(() => this.upgrade.notifier.delivered());
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    return this.state;
  }

  private async runStep(step: Step): Promise<void> {
    if (step === 'plan') return this.plan();
    this.upgrade.enterStep(step);
    if (step === 'gate') return this.gate('promote');
    if (step === 'standBy') return this.standBy();
    if (step === 'promote') return this.runBounded(step, () => this.promote());
    if (step === 'finalize') await this.gate('finalize');
    return this.strategyStep(step);
  }

  // ---- steering -----------------------------------------------------------

  private approve(req: SteeringRequest): void {
    this.upgrade.approved = req;
    this.state.approval.approvedBy = req.by;
    this.state.approval.approvedAt = new Date().toISOString();
    this.upgrade.record({ what: 'signal', by: req.by, why: `approved: ${req.reason}` });
  }

  private requestStop(kind: StopKind, req: SteeringRequest): void {
    if (this.upgrade.stop) return;
    this.upgrade.stop = { kind, by: req.by, why: req.reason };
    this.upgrade.record({ what: 'signal', by: req.by, why: `${kind} requested: ${req.reason}` });
    this.stepScope?.cancel();
  }

  // ---- the skeleton's steps ----------------------------------------------

  private async plan(): Promise<void> {
    this.upgrade.enterStep('plan');
    const strategy = this.strategyFor(this.input.kind);
    if (!strategy) throw new StepFailed('plan', `this worker has no strategy for kind ${this.input.kind}`, 'Misconfigured');
    this.strategy = strategy;
    const { blue, facts } = await this.runBounded('plan', async () => {
      const calls = this.calls((o) => this.stepCalls(o));
      const blue = await (strategy.workload ?? platformWorkload).readBlue({ input: this.input, ...calls }, strategy.blueEnv);
      return { blue, facts: await strategy.plan({ input: this.input, blue, ...calls }) };
    });
    this.facts = facts;
    const owned = patched(RELEASE_OWNERSHIP);
    this.owner = owned ? this.state.upgradeId : undefined;
    const green = { name: (owned ? releaseName : legacyReleaseName)(this.input.target, this.input.version), version: this.input.version };
    const same = alreadyRuns(this.input.target, blue, green);
    if (same) throw new StepFailed('plan', same, 'Invalid');
    this.blue = blue;
    this.green = green;
    const now = new Date().toISOString();
    this.state.releases = {
      blue: { ...blue, role: 'blue', phase: 'SERVING', since: now },
      green: { ...green, role: 'green', phase: 'SCHEDULED', since: now },
    };
    this.upgrade.record({ what: 'phase', release: green.name, to: 'SCHEDULED', by: 'cutover', why: `upgrade from ${blue.version}` });
    this.upgrade.upsertSearchAttributes();
  }

  private async strategyStep(step: StrategyStep): Promise<void> {
    if (step === POINT_OF_NO_RETURN) this.upgrade.passPointOfNoReturn();
    if (step === 'deployGreen') this.upgrade.transition('green', 'deploy', 'green workload requested');
    if (step === 'cleanUpBlue') this.upgrade.transition('blue', 'retire', 'standby window over');
    await this.runHandler(step, this.handlerOf(step));
    if (step === 'verify') await this.runBounded(step, () => this.verifyAnalysis());
    if (step === 'waitReady' && this.input.options.waitForReadyReport) await this.runBounded(step, () => this.awaitReadyReport());
    if (step === 'cleanUpBlue') this.upgrade.transition('blue', 'cleaned', 'blue removed');
  }

  /**
   * A step as it runs: the workload's life (workloadLife.ts) with what the
   * strategy does around it, or the strategy's own step.
   */
  private handlerOf(step: StrategyStep): StepHandler | undefined {
    const { strategy } = this;
    const life = strategy.workload ?? platformWorkload;
    if (step === 'deployGreen') {
      return {
        run: (ctx) => {
          const create = (green: GreenWorkload = {}) => life.createGreen(ctx, { ...green, replicas: green.replicas ?? this.blue.replicas });
          return strategy.deployGreen ? strategy.deployGreen(ctx, create) : create();
        },
        undo: (ctx) => {
          const remove = () => life.removeGreen(ctx);
          return strategy.removeGreen ? strategy.removeGreen(ctx, remove) : remove();
        },
      };
    }
    if (step === 'waitReady') return { run: (ctx) => (strategy.waitReady ? strategy.waitReady(ctx, () => life.waitGreen(ctx)) : life.waitGreen(ctx)) };
    if (step === 'cleanUpBlue') {
      return {
        run: (ctx) => {
          const remove = () => life.removeBlue(ctx);
          return strategy.cleanUpBlue ? strategy.cleanUpBlue(ctx, remove) : remove();
        },
      };
    }
    return strategy[step];
  }

  /** A step's handler: its undo is registered before it runs, so a half-done step is undone too; what it learned is kept. */
  private async runHandler(step: Step, handler: StepHandler | undefined): Promise<void> {
    if (!handler) return;
    const undo = handler.undo;
    if (undo) this.saga.register(step, undefined, (deadline) => undo(this.context(step, (o) => undoActivities(deadline, o))));
    const learned = await this.runBounded(step, () => handler.run(this.context(step, (o) => this.stepCalls(o))));
    if (learned) this.facts = { ...this.facts, ...learned };
  }

  /** Proxies for the running step's calls, their retries bounded by its time limit or retry window. */
  private stepCalls<A extends object>(options?: ProxyOptions): ActivityInterfaceFor<A> {
    return stepActivities<A>(this.input, this.upgrade.window, options);
  }

  /** A strategy's calls and waits through these proxies (a step's or an undo's). */
  private calls(proxies: Proxies): Pick<StrategyContext, 'activities' | 'longWaits'> {
    return { activities: () => proxies(), longWaits: (options = WAIT) => proxies(options) };
  }

  private async verifyAnalysis(): Promise<void> {
    const names = { blue: this.blue.name, green: this.green.name };
    for (const check of this.input.options.verifyAnalysis) {
      await analyse(this.upgrade, { step: 'verify', where: 'verify', check, names, keep: (r) => (this.state.analysis ??= []).push(r) });
    }
  }

  private async awaitReadyReport(): Promise<void> {
    this.upgrade.setWaitingFor(`${this.green.name} to report ready (POST /v1/targets/${this.input.target}/releases/${this.green.name}/ready)`);
    await condition(() => this.state.readyReport?.ready === true);
  }

  /** The gate before promote (the skeleton's step 'gate') or at the start of finalize, if options ask for it. */
  private async gate(before: GatedStep): Promise<void> {
    const options = gateOptions(this.input.options, before);
    if (!options) {
      if (before === 'promote') this.upgrade.record({ what: 'step', by: 'cutover', why: 'no approval asked before promote' });
      return;
    }
    const step: Step = before === 'promote' ? 'gate' : before;
    const why = before === 'promote' ? 'green is ready and verified' : 'finalize is the point of no return';
    // The gate keeps its own time limit (options.timeoutMs), so runBounded gets none.
    await this.runBounded(step, () => awaitApproval(this.upgrade, { ...options, step, before, why }), null);
  }

  /** Traffic moves to green by the plan; then the strategy's promote, if it has one. */
  private async promote(): Promise<void> {
    await shiftTraffic(this.upgrade, this.saga, { blue: this.blue, green: this.green }, this.owner);
    await this.runHandler('promote', this.strategy.promote);
  }

  private async standBy(): Promise<void> {
    const window = this.input.options.standbyWindowMs;
    // Bounded as a step: a window no date can hold fails the step, and the upgrade rolls back, instead of failing the workflow task.
    await this.runBounded('standBy', () => {
      this.upgrade.setWaitingFor(`standby window until ${new Date(Date.now() + window).toISOString()}: rollback is instant until then`);
      return sleep(window, { summary: `standby window (${formatDuration(window)})` });
    });
  }

  // ---- failure and rollback ----------------------------------------------

  /**
   * Run one step's work in a scope that a stop and the step's time limit can
   * cancel (limit null: the work keeps its own, as a gate does).
   */
  private async runBounded<T>(step: Step, work: () => Promise<T>, limit: number | null | undefined = this.input.options.stepTimeoutMs[step]): Promise<T> {
    const scope = new CancellationScope();
    const timers = new CancellationScope();
    let timedOut = false;
    const outer = this.stepScope;
    const outerDeadline = this.upgrade.stepDeadline;
    this.stepScope = scope;
    if (limit) {
      // the calls of the work retry until shortly before the earliest limit that holds it
      this.upgrade.stepDeadline = Math.min(outerDeadline ?? Infinity, Date.now() + limit);
      timers
        .run(() => sleep(limit, { summary: `${step} time limit` }))
        .then(() => {
          timedOut = true;
          scope.cancel();
        })
        .catch((err: unknown) => {
          if (!isCancellation(err)) throw err;
        });
    }
    try {
      return await scope.run(work);
    } catch (err) {
      if (timedOut) throw new StepFailed(step, `step ${step} did not finish within its time limit of ${formatDuration(limit!)}`, 'StepTimeout');
      if (this.upgrade.stop) throw new StopRequested();
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
      if (err instanceof StepFailed || err instanceof StopRequested) throw err;
      const { message, type, retriedOut } = rootCause(err);
      if (!retriedOut || !retriesByTime()) throw new StepFailed(step, message, type);
      const until = limit ? `until shortly before the step's time limit of ${formatDuration(limit)}` : `for the step's retry window of ${formatDuration(RETRY_WINDOW_MS[step])}`;
      throw new StepFailed(step, `${message} (still failing after retries ${until})`, type);
    } finally {
      this.stepScope = outer;
      this.upgrade.stepDeadline = outerDeadline;
      timers.cancel();
    }
  }

  private async onStopped(err: unknown): Promise<void> {
    if (isCancellation(err) && !this.upgrade.stop) {
      const requester = await cancelRequester();
      const reason = `Temporal cancellation requested${requester ? ` by ${requester}` : ''} (UI Cancel, temporal workflow cancel, handle.cancel())`;
      this.requestStop('abort', { by: 'temporal', reason });
    } else if (!(err instanceof StepFailed || err instanceof StopRequested || isCancellation(err))) {
      // An error outside any step's runBounded: rethrown, it would fail the workflow task, which Temporal retries
      // forever wherever the traffic is. The upgrade is undone instead, with the error as its cause.
      err = new StepFailed(this.state.step ?? 'plan', `internal error: ${rootCause(err).message}`, 'Internal');
    }
    const { stop, state } = this.upgrade;
    const failure = err instanceof StepFailed ? { step: err.step, message: err.message, type: err.type } : undefined;
    if (failure) state.failure = failure;
    if (state.pointOfNoReturnPassed) {
      const why = failure
        ? `${failure.step} failed after the point of no return: ${failure.message}`
        : `aborted by ${stop!.by} after the point of no return: ${stop!.why}`;
      state.failure ??= { step: state.step ?? POINT_OF_NO_RETURN, message: why, type: 'Aborted' };
      const blue = state.releases.blue;
      this.upgrade.setWaitingFor(`manual attention: blue ${blue?.name} is ${blue?.phase}, green ${this.green.name} serves`);
      this.upgrade.setStatus('FAILED', stop?.by ?? 'cutover', why);
      return;
    }
    const by = stop?.by ?? 'cutover';
    const why = failure ? `${failure.step} failed: ${failure.message}` : `${stop!.kind}: ${stop!.why}`;
    await this.rollback(by, why);
  }

  private async rollback(by: string, why: string): Promise<void> {
    const { state } = this.upgrade;
    this.upgrade.setStatus('ROLLING_BACK', by, why);
    // Traffic never moved: green leaves service at once (its undo does it otherwise).
    if (state.releases.green && !this.saga.has('traffic on blue')) this.upgrade.weighted(0, `rollback by ${by}`);
    const stuck = await this.saga.compensate();
    if (stuck) {
      state.failure = { step: 'rollback', message: stuck };
      this.upgrade.setWaitingFor(stuck);
      this.upgrade.setStatus('FAILED', 'cutover', stuck);
      return;
    }
    const green = state.releases.green;
    if (green?.phase === 'SCHEDULED') this.upgrade.transition('green', 'retire', 'rolled back');
    if (green?.phase === 'CLEANING_UP') this.upgrade.transition('green', 'cleaned', 'rolled back');
    this.upgrade.setWaitingFor(`nothing: rolled back, ${this.blue?.name ?? 'blue'} serves`);
    this.upgrade.setStatus('ROLLED_BACK', by, why);
  }

  private context(step: Step, proxies: Proxies): StrategyContext {
    const facts = () => this.facts;
    return {
      input: this.input,
      blue: this.blue,
      green: this.green,
      owner: this.owner,
      // read when used: an undo sees what the steps learned up to the rollback
      get facts() {
        return facts();
      },
      learn: (learned) => {
        this.facts = { ...this.facts, ...learned };
      },
      report: (key, value) => {
        this.state.details[key] = value;
      },
      waitingFor: (text) => this.upgrade.setWaitingFor(text),
      askApproval: (before, why) => awaitApproval(this.upgrade, { step, before, why }),
      ...this.calls(proxies),
    };
  }
}

/** Update validators are synchronous and throw to refuse (the SDK ignores a returned promise). */
function refuseUnless(d: Decision): void {
  if (!d.ok) throw ApplicationFailure.nonRetryable(d.reason, REFUSAL_FAILURE[d.refusal ?? 'conflict']);
}

export function createBlueGreenUpgrade(strategyFor: (kind: UpgradeInput['kind']) => Strategy | undefined) {
  /** `recorded`: as the API starts it, complete; or as an upgrade in flight recorded it before settings were complete, which gets what it lacks as the API gives it now. */
  return async function blueGreenUpgrade(recorded: RecordedUpgradeInput): Promise<UpgradeState> {
    const upgrade = new UpgradeRun(completeInput(recorded), strategyFor);
    upgrade.installHandlers();
    return upgrade.run();
  };
}
