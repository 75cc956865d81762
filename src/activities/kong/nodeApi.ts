/**
 * What cutover reads of one Kong node over HTTP, each answer through the
 * schema of what Kong prints (src/domain/kong/answers.ts): the status API's
 * GET /status, GET and POST /status/ready and /metrics, and the Admin API's
 * GET /. Whether a failure is worth a retry follows what Kong means: no
 * connection, a reset, a timeout, a 5xx, 408 or 429 may pass (a node
 * starting or stopping, a proxy or balancer in front of it); a 4xx for a
 * route the version lacks, or a 200 that is not Kong's answer, does not.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { TSchema, Static } from '@sinclair/typebox';
import { AdminRoot, KongAnswerError, Message, NodeStatus, kongAnswer } from '../../domain/kong/answers';
import type { KongNodeAddress } from '../../domain/kong/local';
import { kongFeatures, parseKongVersion } from '../../domain/kong/versions';
import { isTransientStatus } from '../../domain/retry';
import { noAnswerCause, noAnswerCode, tryAgainQuickly } from '../transient';

/** The failure type of a node that refuses connections: nothing listens there any more. */
export const KONG_REFUSED = 'KongRefused';

interface Answer {
  status: number;
  text: string;
}

/** Where a status API is off or unreachable, what the version's default is (kong/templates/kong_defaults.lua). */
function statusListenerHint(version: string): string {
  const v = parseKongVersion(version);
  const byDefault = v ? kongFeatures(v).statusListenDefault : 'off';
  return `Kong ${version}'s status listener is ${byDefault === 'off' ? 'off' : `on ${byDefault} only`} unless the node sets status_listen (KONG_STATUS_LISTEN, e.g. 0.0.0.0:8100)`;
}

export function nodeApi(fetchFn: typeof fetch) {
  /** A request tried again at once after no answer or a transient status (twice; then the activity's retries). */
  const request = (url: string, what: string, init: RequestInit & { signal?: AbortSignal } = {}, transient = (a: Answer) => isTransientStatus(a.status)): Promise<Answer> =>
    tryAgainQuickly(() => once(url, what, init), { transient });

  async function once(url: string, what: string, init: RequestInit & { signal?: AbortSignal }): Promise<Answer> {
    let res: Response;
    try {
      res = await fetchFn(url, { ...init, signal: init.signal ?? AbortSignal.timeout(5000) });
    } catch (err) {
      // refused: nothing listens there (the node stopped); reset or timed out: it may answer the next time
      const type = noAnswerCode(err) === 'ECONNREFUSED' ? KONG_REFUSED : 'KongUnreachable';
      throw ApplicationFailure.retryable(`${what}: no answer from ${url} (${noAnswerCause(err)})`, type);
    }
    return { status: res.status, text: await res.text() };
  }

  /** The body through the schema, or undefined where it is not what Kong writes. */
  function kongsBody<T extends TSchema>(schema: T, a: Answer, answer: string, version: string): Static<T> | undefined {
    try {
      return body(schema, a, answer, version);
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === 'KongAnswer') return undefined;
      throw err;
    }
  }

  /** The body through the schema; an answer that is not Kong's fails for good. */
  function body<T extends TSchema>(schema: T, a: Answer, answer: string, version: string): Static<T> {
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(a.text);
      } catch {
        throw new KongAnswerError(`Kong ${version} answered ${answer} with HTTP ${a.status} and a body that is not JSON: ${a.text.slice(0, 120)}`, 'body');
      }
      return kongAnswer(schema, parsed, { answer: `${answer} (HTTP ${a.status})`, version });
    } catch (err) {
      if (err instanceof KongAnswerError) throw ApplicationFailure.nonRetryable(err.message, 'KongAnswer');
      throw err;
    }
  }

  const unexpected = (a: Answer, answer: string, version: string): ApplicationFailure =>
    isTransientStatus(a.status)
      ? ApplicationFailure.retryable(`Kong ${version} answered ${answer} with HTTP ${a.status}: ${a.text.slice(0, 200)}`, 'KongUnavailable')
      : ApplicationFailure.nonRetryable(`Kong ${version} answered ${answer} with HTTP ${a.status}: ${a.text.slice(0, 200)}`, 'KongAnswer');

  return {
    /** GET /status/ready (3.3+): 200 ready, 503 with Kong's reason. */
    async ready(node: KongNodeAddress, version: string): Promise<{ ready: boolean; message: string }> {
      const what = 'GET /status/ready';
      // Kong's own 503 is its answer ("not ready"), not a failure to try again
      const kongs503 = (a: Answer) => a.status === 503 && kongsBody(Message, a, what, version) !== undefined;
      const a = await request(`${node.statusUrl}/status/ready`, `${what} of ${node.pod}`, {}, (r) => isTransientStatus(r.status) && !kongs503(r)).catch((err: ApplicationFailure) => {
        throw ApplicationFailure.retryable(`${err.message}; ${statusListenerHint(version)}`, err.type);
      });
      if (a.status === 200) return { ready: true, message: body(Message, a, what, version).message };
      // Kong's 503 names why it is not ready; one with another body came from something in front of it (a proxy, a balancer)
      const notReady = a.status === 503 ? kongsBody(Message, a, what, version) : undefined;
      if (notReady) return { ready: false, message: notReady.message };
      if (a.status === 404) throw ApplicationFailure.nonRetryable(`${node.pod} answers 404 at /status/ready: Kong has it from 3.3 on its status listener; is ${node.statusUrl} Kong ${version}'s status listener?`, 'KongAnswer');
      throw unexpected(a, what, version);
    },

    /** GET /status: the node's connections and requests. */
    async status(node: KongNodeAddress, version: string): Promise<NodeStatus> {
      const a = await request(`${node.statusUrl}/status`, `GET /status of ${node.pod}`);
      if (a.status !== 200) throw unexpected(a, 'GET /status', version);
      return body(NodeStatus, a, 'GET /status', version);
    },

    /**
     * POST /status/ready {"status":"draining"} (3.9+: 204, then GET answers 503
     * "draining"); a 405 is Kong before 3.9 (kong/api/api_helpers.lua handle_error).
     */
    async drain(node: KongNodeAddress, version: string): Promise<void> {
      const what = 'POST /status/ready {"status":"draining"}';
      const a = await request(`${node.statusUrl}/status/ready`, `${what} to ${node.pod}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'draining' }),
      });
      if (a.status === 204) return;
      if (a.status === 405) {
        const m = body(Message, a, what, version).message;
        throw ApplicationFailure.nonRetryable(`${node.pod} answered 405 (${m}) to ${what}: Kong has it from 3.9.0 only, and the node is not the Kong ${version} cutover was told of`, 'KongAnswer');
      }
      throw unexpected(a, what, version);
    },

    /** GET /metrics on the status listener (the Prometheus plugin's status API; 404 where the plugin is not loaded). */
    async metrics(node: KongNodeAddress, signal?: AbortSignal): Promise<string> {
      const a = await request(`${node.statusUrl}/metrics`, `GET /metrics of ${node.pod}`, { signal });
      if (a.status === 200) return a.text;
      if (a.status === 404) {
        throw ApplicationFailure.nonRetryable(`${node.pod} answers 404 at /metrics: Kong serves it on the status listener only where the prometheus plugin is loaded (KONG_PLUGINS)`, 'KongAnswer');
      }
      throw unexpected(a, 'GET /metrics', 'of this node');
    },

    /** GET / on the Admin API: the version the node runs. */
    async version(node: KongNodeAddress & { adminUrl: string }, expected: string): Promise<string> {
      const a = await request(`${node.adminUrl}/`, `GET / of ${node.pod}'s Admin API`);
      if (a.status !== 200) throw unexpected(a, 'GET / (Admin API)', expected);
      return body(AdminRoot, a, 'GET / (Admin API)', expected).version;
    },
  };
}
