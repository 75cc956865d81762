/**
 * Who sent a steering request, as far as the workflow can know it: the API
 * principal when the API's signature verifies (a local activity holds the
 * keys; the history keeps only its yes or no), else the identity Temporal
 * recorded with the signal or update (an activity reads it from the history,
 * as cancelRequester does for a cancellation). The `by` a request claims is
 * believed only when signed.
 */
import { CancellationScope, currentUpdateInfo, isCancellation, patched, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { SentRequest, SteeringActivities } from '../activities/steering';
import { canonicalJson, type SteeringMessage, type SteeringSignature } from '../domain/steering';
import { rootCause } from './failures';

/** Runs steered before this believed every request's `by`, and replay that way. */
export const SIGNED_STEERING = 'signed-steering';

const { verifySteeringSignature } = proxyLocalActivities<SteeringActivities>({ startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 3 } });
// The rollback of an unsigned sender waits for this: a short limit, and no answer only means no identity.
const { steeringSender } = proxyActivities<SteeringActivities>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', maximumAttempts: 5 },
});

export interface Sender {
  /** What the upgrade records as who: the API principal of a signed request, else `temporal:<identity>`. */
  by: string;
  /** The API signed it, so it checked the principal's roles. */
  signed: boolean;
  /** Why the request is not taken as the API's, for the transitions. */
  problem?: string;
}

/** A request as it arrived, made safe to read: a signal from the CLI can carry anything, and a handler that throws wedges the run. */
export function steeringRequestOf<T extends { by: string }>(raw: unknown): T & { signature?: SteeringSignature } {
  const req = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  return { ...req, by: text(req.by) || 'nobody', reason: text(req.reason) } as unknown as T & { signature?: SteeringSignature };
}

export class SteeringSenders {
  /** Signals of one name and content so far: the n-th delivery is the n-th such event in the history. */
  private readonly signalsAlike = new Map<string, number>();

  /** Whether this run checks signatures (false only when replaying a run steered before they existed). */
  enabled(): boolean {
    return patched(SIGNED_STEERING);
  }

  /**
   * Call at once when the request arrives (before any await): a signal's
   * place among those alike is counted in arrival order.
   */
  async senderOf(message: SteeringMessage, raw: unknown): Promise<Sender> {
    // the MAC and the history hold the request as it was sent
    const req = steeringRequestOf<{ by: string }>(raw);
    const sentRequest = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const { workflowId, runId } = workflowInfo();
    const updateId = currentUpdateInfo()?.id;
    let sent: SentRequest;
    if (updateId === undefined) {
      const key = `${message}\n${canonicalJson(raw)}`;
      const occurrence = this.signalsAlike.get(key) ?? 0;
      this.signalsAlike.set(key, occurrence + 1);
      sent = { via: 'signal', workflowId, runId, name: message, request: raw, occurrence };
    } else {
      sent = { via: 'update', workflowId, runId, updateId };
    }
    // A Temporal cancellation arriving meanwhile is an abort to roll back, not a reason to drop this request.
    return CancellationScope.nonCancellable(async () => {
      let problem = 'not signed by the API';
      if (req.signature && updateId !== undefined) {
        const content = { message, workflowId, runId, updateId, request: sentRequest };
        const verdict = await verifySteeringSignature({ content, signature: req.signature }).catch((err: unknown) => ({ valid: false as const, reason: `its signature could not be checked: ${rootCause(err).message}` }));
        if (verdict.valid) return { by: req.by, signed: true };
        problem = `its API signature is not valid: ${verdict.reason}`;
      } else if (req.signature) {
        problem = 'it carries an API signature, but the API signs updates only (a signal copied from a history?)';
      }
      const identity = await steeringSender(sent).then(
        (r) => r.identity,
        (err: unknown) => {
          if (isCancellation(err)) throw err;
          return undefined;
        },
      );
      return { by: `temporal:${identity ?? 'unknown'}`, signed: false, problem };
    });
  }
}
