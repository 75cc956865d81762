/**
 * The worker's side of a preview: the kind's plan run read-only by the
 * previewUpgrade workflow (the API never reaches a target itself), and its
 * refusals as the API's answers: a version the running system cannot take is
 * a 400 on field version, as the support matrix's is at a start; a target
 * whose state refuses the upgrade (it runs that version already, migrations
 * pending) a 409; a target the worker could not read a 503.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { PlanFound, PlanOutcome } from '../domain/preview';
import type { UpgradeInput } from '../domain/upgrade';
import { PREVIEW_WORKFLOW, previewWorkflowId } from '../workflows/targetMessages';
import { rootCause } from '../workflows/failures';
import { ApiError, badRequest, conflict } from './errors';

export async function planOnWorker(client: Client, taskQueue: string, input: UpgradeInput): Promise<PlanFound> {
  let outcome: PlanOutcome;
  try {
    outcome = await client.workflow.execute(PREVIEW_WORKFLOW, {
      taskQueue,
      workflowId: previewWorkflowId(input.target, randomUUID()),
      // within the API's request time limit (90 s): a Kong migrations status Job on Kubernetes takes a while
      workflowExecutionTimeout: '80 seconds',
      args: [input],
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new ApiError(503, `the worker could not plan the upgrade of ${input.target}: ${rootCause(err).message}`);
    throw err;
  }
  if (!('refused' in outcome)) return outcome;
  const { message, type, reading } = outcome.refused;
  if (reading) throw new ApiError(503, `the worker could not read ${input.target} as the upgrade's plan does: ${message}`);
  if (type === 'Unsupported') throw badRequest('version', message);
  throw conflict(`the upgrade of ${input.target} to ${input.version} would be refused at plan: ${message}`);
}
