/**
 * Delivery of one notification to one sink, as an activity: the workflow
 * starts it and goes on; Temporal retries it (src/workflows/notifier.ts has
 * its limits). The sink is resolved by name in the worker's configuration
 * now, its URL and key read from the environment, so neither enters the
 * history. The body is signed: X-Cutover-Signature is
 * `sha256=<hex HMAC-SHA256 of "<X-Cutover-Timestamp>.<raw body>">`, the
 * timestamp (Unix seconds) signed with it, so a receiver refuses an old
 * request replayed; X-Cutover-Delivery is the same on every attempt of one
 * delivery, so a receiver can drop a repeat.
 */
import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { NotificationSink } from '../../config/notifications';
import { readSecret } from '../../config/targets';
import type { NotificationRequest } from '../../domain/notifications';
import { parseUpgradeId, temporalUiRunUrl } from '../../domain/upgrade';
import { noAnswerCause } from '../transient';
import { slackMessage, webhookPayload, type NotificationLinks } from './payload';

export interface NotificationDeps {
  /** The sinks that apply to a target in the worker's configuration (the file's and the target's own). */
  sinksFor(target: string): NotificationSink[];
  /** Where the sinks' URLs and keys are read. */
  env: NodeJS.ProcessEnv;
  /** The console's base URL and the Temporal UI's, for links; unset: no such links. */
  consoleUrl?: string;
  temporalUiUrl?: string;
  namespace: string;
}

/** The signature header's value for a body sent at a time (Unix seconds). */
export function signatureOf(key: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** How long before the attempt's time limit it stops waiting for an answer. */
const ANSWER_MARGIN_MS = 1000;

/** Answers a receiver will not change by being asked again: a redirect (none is followed), a refusal (408 and 429 are retried). */
const refuses = (status: number) => status >= 300 && status < 500 && status !== 408 && status !== 429;

export function createNotificationActivities(deps: NotificationDeps) {
  const misconfigured = (message: string) => ApplicationFailure.nonRetryable(message, 'Misconfigured');

  const linksOf = (upgradeId: string, target: string, runId: string | undefined): NotificationLinks => {
    const page = deps.consoleUrl ? `${deps.consoleUrl}/ui/upgrades/${encodeURIComponent(upgradeId)}` : undefined;
    return {
      ...(page ? { console: page, approve: `${page}?action=approve`, rollback: `${page}?action=rollback`, api: `${deps.consoleUrl}/v1/upgrades/${encodeURIComponent(upgradeId)}` } : {}),
      ...(deps.temporalUiUrl && runId ? { temporalUi: temporalUiRunUrl(deps.temporalUiUrl, deps.namespace, target, runId) } : {}),
    };
  };

  return {
    async deliverNotification({ sink: name, summary }: NotificationRequest): Promise<{ status: number }> {
      const { info, cancellationSignal } = Context.current();
      const sink = deps.sinksFor(summary.target).find((s) => s.name === name);
      if (!sink) throw misconfigured(`sink ${name} is not configured for target ${summary.target} on this worker`);
      let url: string;
      let key: string | undefined;
      try {
        url = typeof sink.url === 'string' ? sink.url : readSecret(sink.url, deps.env);
        key = sink.secret ? readSecret(sink.secret, deps.env) : undefined;
      } catch (err) {
        throw misconfigured(`sink ${name}: ${(err as Error).message}`);
      }
      const deliveryId = `${summary.upgradeId}/${summary.sequence}/${name}`;
      const links = linksOf(summary.upgradeId, summary.target, parseUpgradeId(summary.upgradeId)?.runId);
      const body = JSON.stringify(sink.type === 'slack' ? slackMessage(summary, links) : webhookPayload(summary, links, deliveryId));
      const timestamp = Math.floor(Date.now() / 1000);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'cutover-notifications/1',
        'x-cutover-event': summary.event,
        'x-cutover-delivery': deliveryId,
        'x-cutover-timestamp': String(timestamp),
        ...(key ? { 'x-cutover-signature': signatureOf(key, timestamp, body) } : {}),
      };
      // the attempt gives up shortly before its time limit, so its failure says why
      const waitMs = Math.max(1000, info.startToCloseTimeoutMs - ANSWER_MARGIN_MS);
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.any([cancellationSignal, AbortSignal.timeout(waitMs)]) });
      } catch (err) {
        const waited = (err as Error).name === 'TimeoutError' ? ` (waited ${waitMs / 1000} s)` : '';
        throw ApplicationFailure.retryable(`sink ${name} gave no answer: ${noAnswerCause(err)}${waited}`, 'Unavailable');
      }
      const answer = (await res.text().catch(() => '')).slice(0, 200);
      if (res.status >= 200 && res.status < 300) return { status: res.status };
      const message = `sink ${name} answered ${res.status}${answer ? `: ${answer}` : ''}`;
      if (refuses(res.status)) throw ApplicationFailure.nonRetryable(message, 'Rejected');
      throw ApplicationFailure.retryable(message, 'Unavailable');
    },
  };
}

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;
