/**
 * The Temporal side of the API: start an upgrade, list upgrades from
 * visibility, read one (the state query), steer one (updates, whose
 * validators answer yes or no atomically). Speaks ApiError, not HTTP.
 */
import {
  QueryNotRegisteredError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  ApplicationFailure,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { Config } from '../config/file';
import { kindModule } from '../domain/kindRegistry';
import type { TargetConfig } from '../config/targets';
import { REFUSAL_FAILURE, decideAbort, decideApprove, decideRollback, type Approver, type Decision, type Refusal } from '../domain/decisions';
import { LAST_KNOWN_STATE_MEMO } from '../domain/lastKnownState';
import { DELIVERY } from '../domain/notifications';
import { formatDuration } from '../domain/duration';
import { previewOf, type UpgradePreview } from '../domain/preview';
import { isTerminal, type UpgradeStatus } from '../domain/status';
import type { SteeringMessage } from '../domain/steering';
import { parseUpgradeId, temporalUiRunUrl, upgradeIdOf, upgradeWorkflowId, type UpgradeState } from '../domain/upgrade';
import { UNSIGNED_FAILURE, abortUpdate, approveUpdate, reportReadyUpdate, rollbackUpdate, stateQuery, type ReadyRequest } from '../workflows/messages';
import { KIND, PHASE, STATUS, TARGET } from '../workflows/searchAttributes';
import { ApiError, badRequest, conflict, notFound } from './errors';
import { latestCleanup } from './targetWorkflows';
import type { Links, ListQuery, StartUpgradeBody, UpgradeSummary } from './schemas';
import { stuckAdvice, stuckOf, type Stuck } from './stuck';
import { upgradeInputFor } from './upgradeInput';
import { planOnWorker } from './upgradePreview';

export const WORKFLOW_TYPE = 'blueGreenUpgrade';
/** Lists return at most this many upgrades; filters narrow them down. */
export const MAX_LISTED = 100;
const QUERY_DEADLINE_MS = 10_000;

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type SteeringAction = 'approve' | 'rollback' | 'abort';

const UPDATES = { approve: approveUpdate, rollback: rollbackUpdate, abort: abortUpdate };

export class UpgradeWorkflows {
  private readonly targets: Map<string, TargetConfig>;

  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {
    this.targets = new Map(config.targets.map((t) => [t.name, t]));
  }

  links(target: string, runId: string): Links {
    const id = upgradeIdOf(target, runId);
    const ui = this.config.env.temporal.uiUrl;
    return { self: `/v1/upgrades/${id}`, ...(ui ? { temporalUi: temporalUiRunUrl(ui, this.client.options.namespace, target, runId) } : {}) };
  }

  async start(body: StartUpgradeBody, requestedBy: string) {
    const input = upgradeInputFor(this.config, body, requestedBy);
    const target = this.targets.get(input.target)!;
    const workflowId = upgradeWorkflowId(target.name);
    let runId: string;
    try {
      const handle = await this.client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: this.config.env.temporal.taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: [
          { key: TARGET, value: target.name },
          { key: KIND, value: target.kind },
          { key: STATUS, value: 'RUNNING' },
          { key: PHASE, value: 'SCHEDULED' },
        ],
        staticSummary: `upgrade ${target.name} (${target.kind}) to ${body.version}`,
        staticDetails: `requested by ${requestedBy}${body.reason ? `: ${body.reason}` : ''}`,
      });
      runId = handle.firstExecutionRunId;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      throw heldConflict(target.name, await this.client.workflow.getHandle(workflowId).describe());
    }
    const id = upgradeIdOf(target.name, runId);
    return { id, workflowId, runId, target: target.name, kind: target.kind, version: body.version, requestedBy, links: this.links(target.name, runId) };
  }

  /**
   * What a start of this request would do, without starting anything: refused
   * as a start would be (the same input, the same hold on the target), then
   * the kind's plan run read-only on the worker (previewUpgrade).
   */
  async preview(body: StartUpgradeBody, requestedBy: string): Promise<UpgradePreview> {
    const input = upgradeInputFor(this.config, body, requestedBy);
    const latest = await this.client.workflow
      .getHandle(upgradeWorkflowId(input.target))
      .describe()
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      });
    if (latest?.status.name === 'RUNNING') throw heldConflict(input.target, latest);
    return previewOf(input, await planOnWorker(this.client, this.config.env.temporal.taskQueue, input));
  }

  async list(filter: ListQuery): Promise<UpgradeSummary[]> {
    const quote = (v: string) => `'${v.replace(/['\\]/g, '')}'`;
    const clauses = [`WorkflowType = ${quote(WORKFLOW_TYPE)}`];
    if (filter.target) clauses.push(`${TARGET.name} = ${quote(filter.target)}`);
    if (filter.kind) clauses.push(`${KIND.name} = ${quote(filter.kind)}`);
    if (filter.status) clauses.push(`${STATUS.name} = ${quote(filter.status)}`);
    // A run terminated or timed out keeps the status it last set: only a running run is still RUNNING, AWAITING_APPROVAL, ...
    if (filter.status && !isTerminal(filter.status as UpgradeStatus)) clauses.push(`ExecutionStatus = 'Running'`);
    const upgrades: UpgradeSummary[] = [];
    for await (const info of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: MAX_LISTED })) {
      const summary = this.summary(info);
      if (summary) upgrades.push(summary);
      if (upgrades.length >= MAX_LISTED) break;
    }
    // visibility cannot tell a running run from one whose workflow task keeps failing: describe the running ones
    await Promise.all(
      upgrades.filter((u) => u.execution === 'RUNNING').map(async (u) => {
        const stuck = await this.stuck(this.handleOf(u.id).handle).catch(() => undefined);
        if (stuck) Object.assign(u, { execution: 'STUCK', stuck });
      }),
    );
    return upgrades.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /** Running upgrades whose workflow task keeps failing (what the stuck watch reports). */
  async stuckUpgrades(): Promise<{ id: string; target: string; stuck: Stuck }[]> {
    const found: { id: string; target: string; stuck: Stuck }[] = [];
    for await (const info of this.client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'` })) {
      const target = info.typedSearchAttributes.get(TARGET);
      if (!target) continue;
      const stuck = await this.stuck(this.client.workflow.getHandle(info.workflowId, info.runId));
      if (stuck) found.push({ id: upgradeIdOf(target, info.runId), target, stuck });
    }
    return found;
  }

  private async stuck(handle: WorkflowHandle): Promise<Stuck | undefined> {
    return stuckOf(this.client, await handle.describe());
  }

  /** Runs started without the target attribute (not through cutover) are not upgrades the API can address. */
  private summary(info: WorkflowExecutionInfo): UpgradeSummary | undefined {
    const sa = info.typedSearchAttributes;
    const target = sa.get(TARGET);
    if (!target) return undefined;
    return {
      id: upgradeIdOf(target, info.runId),
      target,
      kind: sa.get(KIND),
      status: sa.get(STATUS),
      phase: sa.get(PHASE),
      execution: info.status.name,
      startedAt: info.startTime.toISOString(),
      closedAt: info.closeTime?.toISOString(),
      links: this.links(target, info.runId),
    };
  }

  /**
   * The state query, with the run's Temporal execution status (a terminated
   * or timed-out run shows that beside its last known state), the retries of
   * a running undo, and links to the upgrade and its Temporal run. A stuck
   * run (its workflow task keeps failing, so no query can run) shows
   * execution STUCK, why and since when, and the state its workflow last
   * published in its memo.
   */
  async get(id: string): Promise<UpgradeState & { execution: string; stuck?: Stuck; links: Links }> {
    const { handle, target, runId } = this.handleOf(id);
    const described = await handle.describe().catch((err: unknown) => {
      throw err instanceof WorkflowNotFoundError ? notFound(`no upgrade ${id}`) : err;
    });
    const stuck = await stuckOf(this.client, described);
    if (stuck) return this.stuckView(described, stuck, { target, runId });
    let state: UpgradeState;
    try {
      state = await this.state(handle, `no upgrade ${id}`);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      // the query failed: the run got stuck meanwhile, or it is closed and its replay meets the failure it was stuck on
      const now = await handle.describe();
      const stuckNow = await stuckOf(this.client, now);
      if (stuckNow) return this.stuckView(now, stuckNow, { target, runId });
      const published = now.memo?.[LAST_KNOWN_STATE_MEMO] as UpgradeState | undefined;
      if (now.status.name === 'RUNNING' || !published) throw err;
      state = published;
    }
    if (state.undoing) {
      // The undo retries on the server: its attempt count and last error live in the pending activity
      // (the failing one, where an undo runs several at once).
      const activities = described.raw.pendingActivities ?? [];
      const pending = activities.find((p) => p.lastFailure) ?? activities[0];
      if (pending) {
        state.undoing = {
          ...state.undoing,
          activity: pending.activityType?.name ?? undefined,
          attempt: pending.attempt ?? undefined,
          lastError: pending.lastFailure?.message ?? undefined,
        };
      }
    }
    await this.addLiveDetails(state, described.raw.pendingActivities ?? []);
    return { ...state, execution: described.status.name, links: this.links(target, runId) };
  }

  /** A stuck run: the state its workflow last published in its memo (a run started before workflows published one has none to show). */
  private stuckView(run: WorkflowExecutionDescription, stuck: Stuck, { target, runId }: { target: string; runId: string }) {
    const state = run.memo?.[LAST_KNOWN_STATE_MEMO] as UpgradeState | undefined;
    if (!state) throw new ApiError(503, `upgrade ${upgradeIdOf(target, runId)}: ${stuckAdvice(target, runId, stuck)}. It published no state of its own: see its history in the Temporal UI`);
    return { ...state, execution: 'STUCK', stuck, links: this.links(target, runId) };
  }

  /** A kind's live progress (e.g. a projection's catch-up) lives in its activity's last heartbeat: shown without adding to the history. */
  private async addLiveDetails(state: UpgradeState, pending: { activityType?: { name?: string | null } | null; heartbeatDetails?: { payloads?: Payload[] | null } | null }[]) {
    const live = kindModule(state.kind).liveDetails;
    if (!live) return;
    const running = pending.find((p) => p.activityType?.name === live.activity);
    if (!running?.heartbeatDetails?.payloads?.length) return;
    const [beat] = await decodeArrayFromPayloads(this.client.options.loadedDataConverter, running.heartbeatDetails.payloads);
    if (beat) state.details = { ...state.details, [live.key]: beat };
  }

  /** A release's ready report, as a signed workflow update whose validator admits only green while it is INITIALISING. */
  async reportReady(target: string, req: ReadyRequest) {
    if (!this.targets.has(target)) throw notFound(`unknown target ${target}`);
    const running = this.client.workflow.getHandle(upgradeWorkflowId(target));
    let runId: string;
    try {
      runId = (await this.refuseIfStuck(running, target, `cannot report ${req.release} ready`)).runId;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw conflict(`cannot report ${req.release} ready: no upgrade of ${target} is running`);
      throw err;
    }
    const handle = this.client.workflow.getHandle(upgradeWorkflowId(target), runId);
    const answer = { target, release: req.release, ready: req.ready, accepted: true as const };
    try {
      const result = await this.signedUpdate(handle, runId, 'reportReady', req);
      return { ...answer, recorded: true, status: result.status };
    } catch (err) {
      // A repeat of the latest report: taken, with nothing new to record (and no event in the history).
      if (refusalOf(err)?.refusal === 'unchanged') return { ...answer, recorded: false, status: (await this.state(handle, `no upgrade of ${target}`)).status };
      throw this.refusal(err, `cannot report ${req.release} ready`) ?? (err instanceof WorkflowNotFoundError ? conflict(`cannot report ${req.release} ready: no upgrade of ${target} is running`) : err);
    }
  }

  /**
   * The update, signed for this run and update id with the API's key: the
   * workflow takes a request's principal (and roles) only from the API.
   */
  private signedUpdate<R extends object>(handle: WorkflowHandle, runId: string, message: SteeringMessage, request: R, updateId: string = randomUUID()) {
    const signed = this.config.steering.signed({ message, workflowId: handle.workflowId, runId, updateId, request });
    const update = message === 'reportReady' ? reportReadyUpdate : UPDATES[message];
    return handle.executeUpdate(update as typeof approveUpdate, { args: [signed as never], updateId });
  }

  /** A running run's description; a stuck one is refused with what to do instead (409). */
  private async refuseIfStuck(handle: WorkflowHandle, target: string, what: string): Promise<{ runId: string }> {
    const described = await handle.describe();
    const stuck = await stuckOf(this.client, described);
    if (stuck) throw conflict(`${what}: ${stuckAdvice(target, described.runId, stuck)}`);
    return { runId: described.runId };
  }

  /** The workflow's refusal as the API's answer (see refusalError); 500 when the workers do not take the API's own signature. */
  private refusal(err: unknown, what: string): ApiError | undefined {
    const refused = refusalOf(err);
    if (refused) return refusalError(refused, what);
    if (!(err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)) return undefined;
    if (err.cause.type === UNSIGNED_FAILURE) {
      return new ApiError(500, `${what}: the workers did not take the API's signature (${err.cause.message}); the API and the workers must share CUTOVER_STEERING_KEYS`);
    }
    return undefined;
  }

  /**
   * who: the principal and its roles, which the workflow checks against the
   * rule of the gate it waits at. updateId: Temporal answers a repeated update
   * id with the first result instead of acting again.
   */
  async steer(id: string, action: SteeringAction, who: Approver, reason: string, updateId?: string): Promise<UpgradeState['status']> {
    const { handle, target, runId } = this.handleOf(id);
    try {
      await this.refuseIfStuck(handle, target, `cannot ${action} ${id}`);
      const result = await this.signedUpdate(handle, runId, action, { by: who.by, reason, roles: who.roles ? [...who.roles] : undefined }, updateId);
      return result.status;
    } catch (err) {
      const refused = this.refusal(err, `cannot ${action} ${id}`);
      if (refused) throw refused;
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    // No running workflow took the update: either the id is unknown, or the upgrade has ended (so nothing waits at a gate).
    const state = await this.state(handle, `no upgrade ${id}`);
    const decision = action === 'approve' ? decideApprove(state, who, { roles: [], requireDistinctApprover: false }) : decide(action, state);
    throw conflict(`cannot ${action} ${id}: ${decision.ok ? `the upgrade is no longer running (${state.status})` : decision.reason}`);
  }

  /**
   * The state of the target's latest upgrade (what the phase long poll watches), also when a clean-up ran since;
   * null while no upgrade of it has run yet.
   */
  async targetState(target: string): Promise<UpgradeState | null> {
    if (!this.targets.has(target)) throw notFound(`unknown target ${target}`);
    try {
      return await this.stateOrNull(this.client.workflow.getHandle(upgradeWorkflowId(target)));
    } catch (err) {
      // a clean-up ran last: it answers no upgrade state, the upgrade before it does
      const cleanup = err instanceof QueryNotRegisteredError ? await latestCleanup(this.client, target) : undefined;
      if (!cleanup) throw err;
      return cleanup.upgradeRunId ? this.stateOrNull(this.client.workflow.getHandle(upgradeWorkflowId(target), cleanup.upgradeRunId)) : null;
    }
  }

  /** Temporal answers for this namespace within a few seconds. */
  async ready(): Promise<void> {
    const namespace = this.client.options.namespace;
    try {
      await this.client.connection.withDeadline(Date.now() + 3000, () => this.client.workflowService.describeNamespace({ namespace }));
    } catch (err) {
      throw new ApiError(503, `Temporal is not ready for namespace ${namespace}: ${(err as Error).message}`);
    }
  }

  private handleOf(id: string): { handle: WorkflowHandle; target: string; runId: string } {
    const parsed = parseUpgradeId(id);
    // Temporal answers a run id that is no UUID with an error that looks like a missing query handler.
    if (!parsed || !RUN_ID.test(parsed.runId)) throw badRequest('id', `'${id}' is not an upgrade id: expected <target>.<runId>, e.g. orders-mqtt.0b6f…`);
    return { ...parsed, handle: this.client.workflow.getHandle(upgradeWorkflowId(parsed.target), parsed.runId) };
  }

  private async state(handle: WorkflowHandle, missing: string): Promise<UpgradeState> {
    const state = await this.stateOrNull(handle);
    if (!state) throw notFound(missing);
    return state;
  }

  /** The run's state; null if there is no such workflow. */
  private async stateOrNull(handle: WorkflowHandle): Promise<UpgradeState | null> {
    try {
      // a healthy run answers in milliseconds; one whose workflow task fails never does (Temporal gives up after 30 s)
      return await this.client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(stateQuery));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }
}

/** A start refused because the target is held: by a running upgrade, one that ended but still delivers its notifications, or a clean-up. */
function heldConflict(target: string, running: WorkflowExecutionDescription): ApiError {
  const id = upgradeIdOf(target, running.runId);
  const status = running.typedSearchAttributes.get(STATUS);
  return conflict(
    running.type !== WORKFLOW_TYPE
      ? `target ${target} is being cleaned up (${id}); start the upgrade once the clean-up has ended`
      : status && isTerminal(status as UpgradeStatus)
        ? `target ${target}'s upgrade ${id} ended ${status} and is still delivering its notifications (for at most ${formatDuration(DELIVERY.totalMs)}); start again once it has`
        : `target ${target} already has an upgrade running: ${id}; wait for it to end, or roll it back or abort it`,
  );
}

/** The release's phase and weight in the target's latest upgrade (state, null if none ran yet); undefined if that upgrade does not name it. */
export function namedRelease(state: UpgradeState | null, target: string, release: string) {
  const found = state && [state.releases.blue, state.releases.green].find((r) => r?.name === release);
  if (!state || !found) return undefined;
  // absent in runs started before traffic plans: the serving release has everything
  const weight = state.traffic?.[found.role] ?? (found.phase === 'SERVING' ? 100 : 0);
  return { target, release, role: found.role, phase: found.phase, weight, since: found.since, upgradeId: state.upgradeId, status: state.status };
}

/** As namedRelease, and 404 saying why when the release is not named. */
export function releasePhaseOf(state: UpgradeState | null, target: string, release: string) {
  const named = namedRelease(state, target, release);
  if (named) return named;
  if (!state) throw notFound(`no upgrade of ${target} has run yet`);
  const known = [state.releases.blue, state.releases.green].flatMap((r) => (r ? [`${r.name} (${r.role})`] : []));
  throw notFound(`release ${release} is not part of the latest upgrade of ${target}${known.length ? `, whose releases are ${known.join(' and ')}` : ''}`);
}

function decide(action: Exclude<SteeringAction, 'approve'>, state: UpgradeState): Decision {
  return action === 'rollback' ? decideRollback(state) : decideAbort(state);
}

/** An update validator's refusal (see decisions.ts), with its reason. */
function refusalOf(err: unknown): { refusal: Refusal; reason: string } | undefined {
  if (!(err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)) return undefined;
  const { type, message } = err.cause;
  const refusal = (Object.keys(REFUSAL_FAILURE) as Refusal[]).find((r) => REFUSAL_FAILURE[r] === type);
  return refusal && { refusal, reason: message };
}

/** unchanged is an answer of its own where it can happen (a repeated ready report), a conflict anywhere else. */
const REFUSAL_STATUS: Record<Refusal, number> = { conflict: 409, forbidden: 403, tooMany: 429, unchanged: 409 };

function refusalError(r: { refusal: Refusal; reason: string }, what: string): ApiError {
  return new ApiError(REFUSAL_STATUS[r.refusal], `${what}: ${r.reason}`);
}
