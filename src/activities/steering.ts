/**
 * Outside workflow code, what a steering request's sender cannot fake: the
 * API's signature, checked with the worker's keys (the workflow sees only
 * the verdict, so no key enters the history and a rotation never changes a
 * replay), and, for a request not signed, the identity Temporal recorded
 * with it (the CLI's "pid@host" or its --identity, an SDK client's, the UI
 * user's), read from the run's history.
 */
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { SteeringKeys, Verdict } from '../config/steeringKeys';
import { canonicalJson, type SignedContent, type SteeringSignature } from '../domain/steering';
import { historyEvents, type HistoryEvent } from './history';

/** Which delivery of a request to look up: an update by its id, a signal by its name, content and how many alike came before it. */
export type SentRequest =
  | { via: 'update'; workflowId: string; runId: string; updateId: string }
  | { via: 'signal'; workflowId: string; runId: string; name: string; request: unknown; occurrence: number };

export function createSteeringActivities(temporal: Client, keys: SteeringKeys) {
  const decode = async (payloads: Parameters<typeof decodeArrayFromPayloads>[1]) =>
    canonicalJson((await decodeArrayFromPayloads(temporal.options.loadedDataConverter, payloads))[0]);

  return {
    /** Yes or no (and why not); run as a local activity: no I/O, and its answer is all the history keeps. */
    async verifySteeringSignature(i: { content: SignedContent; signature: SteeringSignature }): Promise<Verdict> {
      return keys.verify(i.content, i.signature);
    },

    /** The Temporal identity that sent the request, from its WorkflowExecutionSignaled or WorkflowExecutionUpdateAccepted event. */
    async steeringSender(sent: SentRequest): Promise<{ identity?: string }> {
      const wanted = sent.via === 'signal' ? canonicalJson(sent.request) : undefined;
      let alike = 0;
      const matches = async (e: HistoryEvent): Promise<boolean> => {
        if (sent.via === 'update') return e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId === sent.updateId;
        const signal = e.workflowExecutionSignaledEventAttributes;
        if (signal?.signalName !== sent.name || (await decode(signal.input?.payloads)) !== wanted) return false;
        return alike++ === sent.occurrence;
      };
      for await (const event of historyEvents(temporal, sent, 'forward')) {
        if (!(await matches(event))) continue;
        const identity = event.workflowExecutionSignaledEventAttributes?.identity ?? event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.identity;
        return identity ? { identity } : {};
      }
      return {};
    },
  };
}

export type SteeringActivities = ReturnType<typeof createSteeringActivities>;
