/** A run's history events, page by page through Temporal's API: what workflow code cannot see (who sent a request). */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Newest first (reverse) when what is wanted is among the last events. */
export async function* historyEvents(client: Client, execution: { workflowId: string; runId: string }, order: 'forward' | 'reverse'): AsyncGenerator<HistoryEvent> {
  const read = order === 'reverse' ? client.workflowService.getWorkflowExecutionHistoryReverse.bind(client.workflowService) : client.workflowService.getWorkflowExecutionHistory.bind(client.workflowService);
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await read({ namespace: client.options.namespace, execution, maximumPageSize: 500, nextPageToken });
    yield* page.history?.events ?? [];
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
}
