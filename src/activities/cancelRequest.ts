/**
 * Who asked Temporal to cancel a run. The SDK does not hand the request's
 * identity to workflow code, but the run's WorkflowExecutionCancelRequested
 * event keeps it (the CLI's or SDK client's "pid@host", or what --identity set).
 */
import type { Client } from '@temporalio/client';

export interface CancelRequest {
  identity?: string;
}

export function createCancelRequestActivities(temporal: Client) {
  return {
    /** The run's cancel request, read newest first: it is among the last events. Null if it has none. */
    async cancelRequestedBy({ workflowId, runId }: { workflowId: string; runId: string }): Promise<CancelRequest | null> {
      let nextPageToken: Uint8Array | undefined;
      do {
        const page = await temporal.workflowService.getWorkflowExecutionHistoryReverse({
          namespace: temporal.options.namespace,
          execution: { workflowId, runId },
          maximumPageSize: 100,
          nextPageToken,
        });
        for (const event of page.history?.events ?? []) {
          const request = event.workflowExecutionCancelRequestedEventAttributes;
          if (request) return request.identity ? { identity: request.identity } : {};
        }
        nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (nextPageToken);
      return null;
    },
  };
}

export type CancelRequestActivities = ReturnType<typeof createCancelRequestActivities>;
