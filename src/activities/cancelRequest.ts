/**
 * Who asked Temporal to cancel a run. The SDK does not hand the request's
 * identity to workflow code, but the run's WorkflowExecutionCancelRequested
 * event keeps it (the CLI's or SDK client's "pid@host", or what --identity set).
 */
import type { Client } from '@temporalio/client';
import { historyEvents } from './history';

export interface CancelRequest {
  identity?: string;
}

export function createCancelRequestActivities(temporal: Client) {
  return {
    /** The run's cancel request, read newest first: it is among the last events. Null if it has none. */
    async cancelRequestedBy(execution: { workflowId: string; runId: string }): Promise<CancelRequest | null> {
      for await (const event of historyEvents(temporal, execution, 'reverse')) {
        const request = event.workflowExecutionCancelRequestedEventAttributes;
        if (request) return request.identity ? { identity: request.identity } : {};
      }
      return null;
    },
  };
}

export type CancelRequestActivities = ReturnType<typeof createCancelRequestActivities>;
