/** Lists a target's releases where they run: the platform and the kind's objects are the worker's to read (its clusters, its sandboxes, its secrets). */
import { proxyActivities } from '@temporalio/workflow';
import type { ReleaseActivities } from '../activities/releaseResources';
import type { ReleaseObjects } from '../domain/ownership';
import { NON_RETRYABLE } from './activityOptions';

export async function targetReleases(input: { target: string }): Promise<ReleaseObjects[]> {
  const { listTargetReleases } = proxyActivities<ReleaseActivities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 3, initialInterval: '1 second', nonRetryableErrorTypes: NON_RETRYABLE },
  });
  return listTargetReleases(input);
}
