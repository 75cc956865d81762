/**
 * A run is stuck when its workflow task keeps failing: a bug in workflow
 * code that no step catches, or a nondeterminism after a deploy. Temporal
 * retries such a task forever, the state query cannot run, and no request
 * reaches the workflow. What Temporal's API shows of it: describe's pending
 * workflow task (its attempt), and the history's WorkflowTaskFailed events
 * since the last completed task (the first attempt's failure is recorded;
 * the retries are not).
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { historyEvents } from '../activities/history';
import { upgradeWorkflowId } from '../domain/upgrade';

export interface Stuck {
  /** When the failing began: the first failed attempt after the last completed task. */
  since: string;
  /** Attempts of the pending workflow task so far. */
  attempts: number;
  /** The failure's message, e.g. "Invalid time value". */
  message: string;
  /** Temporal's cause, e.g. WORKER_UNHANDLED_FAILURE or NON_DETERMINISTIC_ERROR. */
  cause?: string;
}

const CAUSE_PREFIX = 'WORKFLOW_TASK_FAILED_CAUSE_';

/** Undefined for a run that is not stuck (closed, or its task succeeds, or it only timed out: a worker away, not a failing task). */
export async function stuckOf(client: Client, run: WorkflowExecutionDescription): Promise<Stuck | undefined> {
  const pending = run.raw.pendingWorkflowTask;
  if (run.status.name !== 'RUNNING' || !pending || (pending.attempt ?? 1) < 2) return undefined;
  let latest: Omit<Stuck, 'attempts' | 'since'> | undefined;
  let since: string | undefined;
  for await (const event of historyEvents(client, { workflowId: run.workflowId, runId: run.runId }, 'reverse')) {
    if (event.workflowTaskCompletedEventAttributes) break;
    const failed = event.workflowTaskFailedEventAttributes;
    if (!failed) continue;
    const cause = failed.cause ? temporal.api.enums.v1.WorkflowTaskFailedCause[failed.cause]?.replace(CAUSE_PREFIX, '') : undefined;
    latest ??= { message: failed.failure?.message || 'no message', ...(cause ? { cause } : {}) };
    since = timestamp(event.eventTime);
  }
  return latest && since ? { ...latest, since, attempts: pending.attempt ?? 2 } : undefined;
}

function timestamp(t: { seconds?: unknown; nanos?: number | null } | null | undefined): string | undefined {
  if (!t) return undefined;
  return new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

/** What an operator does about it; every steering request gets it as the 409's reason. */
export function stuckAdvice(target: string, runId: string, s: Stuck): string {
  return (
    `the upgrade is stuck: its workflow task has failed since ${s.since} (${s.attempts} attempts: ${s.message}), so the workflow cannot act on any request. ` +
    'Deploy a worker that fixes the failure and the run goes on by itself; or terminate it ' +
    `(temporal workflow terminate --workflow-id ${upgradeWorkflowId(target)} --run-id ${runId}), which undoes nothing, and remove what it left with POST /v1/targets/${target}/cleanup`
  );
}
