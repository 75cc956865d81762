/**
 * Removes a target's orphans: the releases nothing uses (no traffic; no
 * upgrade runs, since the clean-up runs under the target's upgrade workflow
 * id), e.g. what a terminated upgrade left. Each removal follows the undo
 * rules: idempotent, retried without an attempt limit until the deadline, and
 * never touching what is not the target's or what serves (the activities
 * check both again as they act).
 */
import { ApplicationFailure, isCancellation, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ReleaseActivities } from '../activities/releaseResources';
import { orphans } from '../domain/ownership';
import { upgradeIdOf } from '../domain/upgrade';
import { UPGRADE_DEFAULTS } from '../domain/upgradeSettings';
import { NON_RETRYABLE, callActivity, undoActivities } from './activityOptions';
import { REFUSAL_FAILURE } from '../domain/decisions';
import { reportReadyUpdate, type ReadyRequest } from './messages';
import { rootCause } from './failures';
import { cleanupStateQuery, type CleanupInput, type CleanupState } from './targetMessages';

export async function targetCleanup(input: CleanupInput): Promise<CleanupState> {
  const { target } = input;
  const state: CleanupState = {
    cleanupId: upgradeIdOf(target, workflowInfo().runId),
    target,
    requestedBy: input.requestedBy,
    reason: input.reason,
    startedAt: new Date().toISOString(),
    status: 'RUNNING',
    orphans: [],
    removed: [],
    failed: [],
  };
  setHandler(cleanupStateQuery, () => state);
  // a release's ready report reaches the target's workflow id: no upgrade runs now (refused by the validator, so nothing is recorded)
  const refuse = (_report: ReadyRequest): never => {
    throw ApplicationFailure.nonRetryable(`no upgrade of ${target} is running: the clean-up ${state.cleanupId} is`, REFUSAL_FAILURE.conflict);
  };
  setHandler(reportReadyUpdate, refuse, { validator: refuse });

  const { listTargetReleases } = proxyActivities<ReleaseActivities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: NON_RETRYABLE },
  });
  // each removal retries as long as a rollback's undos do by default, then a person must look
  const removal = undoActivities<ReleaseActivities>(Date.now() + UPGRADE_DEFAULTS.rollbackTimeoutMs);
  try {
    state.orphans = orphans(await listTargetReleases({ target }), [], target).map((r) => r.name);
    for (const release of state.orphans) {
      try {
        state.removed.push(await callActivity(removal.removeRelease, `remove ${release}, which nothing uses`, { target, release, owner: state.cleanupId }));
      } catch (err) {
        if (isCancellation(err)) throw err;
        state.failed.push({ release, message: rootCause(err).message });
      }
    }
    if (state.failed.length) state.failure = `${state.failed.length} of ${state.orphans.length} orphans not removed: a person must look`;
  } catch (err) {
    if (isCancellation(err)) throw err;
    state.failure = `listing the releases of ${target} failed: ${rootCause(err).message}`;
  }
  state.status = state.failure ? 'FAILED' : 'SUCCEEDED';
  state.endedAt = new Date().toISOString();
  return state;
}
