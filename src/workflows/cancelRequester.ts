/** Who asked Temporal to cancel this run, for the transitions: an activity reads it from the run's history. */
import { isCancellation, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CancelRequestActivities } from '../activities/cancelRequest';
import { callActivity } from './activityOptions';

/** Runs cancelled before the identity was read replay without the activity. */
const CANCEL_IDENTITY = 'cancel-identity';

// The rollback waits for this: a short limit, and no answer only means no identity.
const { cancelRequestedBy } = proxyActivities<CancelRequestActivities>({
  startToCloseTimeout: '5 seconds',
  scheduleToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 ms', maximumAttempts: 3 },
});

/** The cancel request's identity (e.g. "29083@host" from the CLI or an SDK client, or the UI's user), if Temporal has one. */
export async function cancelRequester(): Promise<string | undefined> {
  if (!patched(CANCEL_IDENTITY)) return undefined;
  const { workflowId, runId } = workflowInfo();
  try {
    const request = await callActivity(cancelRequestedBy, 'read who requested the cancellation', { workflowId, runId });
    return request?.identity;
  } catch (err) {
    if (isCancellation(err)) throw err;
    return undefined;
  }
}
