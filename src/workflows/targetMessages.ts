/**
 * What the target's own workflows answer: the listing of its releases, the
 * preview of an upgrade, and the clean-up of its orphans, which runs under the
 * target's upgrade workflow id so that it and an upgrade never run at once.
 * Imported by clients too.
 */
import { defineQuery } from '@temporalio/workflow';
import type { RemovedRelease } from '../activities/releaseResources';

export const RELEASES_WORKFLOW = 'targetReleases';
export const CLEANUP_WORKFLOW = 'targetCleanup';
export const PREVIEW_WORKFLOW = 'previewUpgrade';

/** One listing runs per target at a time; readers that come meanwhile share its answer. */
export const releasesWorkflowId = (target: string): string => `releases-${target}`;
/** Each preview runs apart, never under the target's upgrade workflow id: it holds nothing. */
export const previewWorkflowId = (target: string, nonce: string): string => `preview-${target}-${nonce}`;

export interface CleanupInput {
  target: string;
  requestedBy: string;
  reason: string;
}

export interface CleanupState {
  /** `<target>.<runId>`, the shape of an upgrade id: what the clean-up records as owner where it acts. */
  cleanupId: string;
  target: string;
  requestedBy: string;
  reason: string;
  startedAt: string;
  endedAt?: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  /** The orphans found when it started. */
  orphans: string[];
  removed: RemovedRelease[];
  /** Removals that failed for good (or still failed at the deadline), with why. */
  failed: { release: string; message: string }[];
  /** Why it ended FAILED. */
  failure?: string;
}

export const cleanupStateQuery = defineQuery<CleanupState>('cleanupState');
