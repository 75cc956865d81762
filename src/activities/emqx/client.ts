/**
 * One target's EMQX REST API v5, as the activities call it: Basic auth with
 * the worker's API key, every answer cutover reads checked against the
 * schema of what the real API prints (src/domain/emqx/answers.ts), and
 * failures that say what EMQX meant and whether another try can help.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Static, TSchema } from '@sinclair/typebox';
import { EVACUATION_UNAVAILABLE } from '../../domain/emqx/errors';
import { ErrorBody, GlobalStatus, NodeList, readAnswer, RunningNode, type EvacuationEntry, type ListedNode } from '../../domain/emqx/answers';
import type { EmqxAccess } from '../../domain/emqx/schema';
import { describeRelease } from '../../domain/emqx/versions';
import { isTransientStatus } from '../../domain/retry';
import { noAnswerCause, tryAgainQuickly } from '../transient';

export interface Reply {
  status: number;
  body: unknown;
}

/** The `{code, message}` of an error answer, if it is one. */
export function errorOf(r: Reply): ErrorBody | undefined {
  const e = readAnswer(ErrorBody, r.body);
  return 'ok' in e ? e.ok : undefined;
}

export function errorText(r: Reply): string {
  const e = errorOf(r);
  return e ? `${r.status} ${e.code}: ${e.message}` : `HTTP ${r.status}${typeof r.body === 'string' && r.body ? `: ${r.body.slice(0, 200)}` : ''}`;
}

/** The dashboard's answer to a path no application registered (emqx_dashboard_not_found.erl, JSON when asked for it). */
export const isPathNotFound = (r: Reply): boolean => r.status === 404 && errorOf(r)?.message === 'Request Path Not Found';
/** with_node's answer for a node not in mria:running_nodes(): stopped, unknown, or never there (emqx_utils_api.erl). */
export const isNodeNotRunning = (r: Reply): boolean => r.status === 404 && (errorOf(r)?.message ?? '').startsWith('Node not found: ');
/** wrap_rpc's `{error, Reason}`: 400 BAD_REQUEST "error on node 'n': Reason" (emqx_node_rebalance_api.erl). */
export const rpcError = (r: Reply): string | undefined => {
  const e = errorOf(r);
  return r.status === 400 && e?.code === 'BAD_REQUEST' ? /^error on node .*: (\w+)$/.exec(e.message)?.[1] : undefined;
};

export class EmqxClient {
  constructor(
    private readonly target: string,
    private readonly access: EmqxAccess,
    private readonly authorization: string,
    private readonly fetchFn: typeof fetch,
    private readonly timeoutMs: number,
  ) {}

  private get base(): string {
    return this.access.apiUrl.replace(/\/+$/, '');
  }

  /** `EMQX of target 'x' at <url>`, the start of every message. */
  get where(): string {
    return `EMQX of target '${this.target}' at ${this.base}`;
  }

  /**
   * A connection refused, reset or timed out, or a transient status, is worth
   * another try (twice at once, then the activity's retries); refused
   * credentials are not.
   */
  call(method: string, path: string, body?: unknown): Promise<Reply> {
    return tryAgainQuickly(() => this.once(method, path, body), { transient: (r) => isTransientStatus(r.status) });
  }

  private async once(method: string, path: string, body?: unknown): Promise<Reply> {
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(`${this.base}/api/v5${path}`, {
        method,
        // JSON, also for the dashboard's not-found page (emqx_dashboard_not_found.erl answers by Accept)
        headers: { authorization: this.authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw ApplicationFailure.retryable(`EMQX API of target '${this.target}' at ${this.base} is unreachable: ${noAnswerCause(err)}`, 'Unreachable');
    }
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): kept as text for the message.
    }
    const reply = { status: res.status, body: parsed };
    if (res.status === 401 || res.status === 403) {
      throw ApplicationFailure.nonRetryable(
        `EMQX API of target '${this.target}' at ${this.base} refused its credentials (${errorText(reply)}); check the API key and secret in ` +
          `${this.access.apiKey.env} and ${this.access.apiSecret.env} on the worker (from 5.10.4, and the key's scopes cluster_operations and monitoring)`,
        'Unauthorized',
      );
    }
    return reply;
  }

  /**
   * The answer as `schema` says the real EMQX prints it. A mismatch is no
   * passing fault: it names the version (asked for only then), the field and
   * what was found.
   */
  async read<S extends TSchema>(schema: S, what: string, reply: Reply): Promise<Static<S>> {
    const checked = readAnswer(schema, reply.body);
    if ('ok' in checked) return checked.ok;
    throw ApplicationFailure.nonRetryable(
      `${await this.describe()} of target '${this.target}' at ${this.base} answered ${what} with what cutover does not know: ${checked.mismatch}`,
      'EmqxContract',
    );
  }

  /** "EMQX 5.8.0 (Opensource)" from the nodes that say it, read leniently; for messages. */
  async describe(): Promise<string> {
    try {
      const r = await this.call('GET', '/nodes');
      const running = Array.isArray(r.body) ? r.body.map((n) => readAnswer(RunningNode, n)).flatMap((n) => ('ok' in n ? [describeRelease(n.ok)] : [])) : [];
      return running.length ? [...new Set(running)].join(', ') : 'EMQX (its version unreadable)';
    } catch {
      return 'EMQX (its version unreadable)';
    }
  }

  /**
   * A reply the caller has no meaning for: an error of EMQX itself (5xx,
   * such as 503 RPC_ERROR when a node's RPC failed), or of a proxy in front
   * of it (5xx, 408, 429), may pass; anything else (400 for a request EMQX
   * refuses, 404) will not.
   */
  unexpected(what: string, r: Reply): ApplicationFailure {
    const msg = `${what} on ${this.where} failed: ${errorText(r)}`;
    return isTransientStatus(r.status) ? ApplicationFailure.retryable(msg, 'EmqxUnavailable') : ApplicationFailure.nonRetryable(msg, 'Invalid');
  }

  unavailable(): ApplicationFailure {
    return ApplicationFailure.nonRetryable(
      `${this.where} has no node evacuation API (404 Request Path Not Found on /api/v5/load_rebalance): drain by removing pods instead`,
      EVACUATION_UNAVAILABLE,
    );
  }

  /** GET /nodes: running nodes that answered their info RPC, then stopped cores. */
  async nodes(): Promise<ListedNode[]> {
    const r = await this.call('GET', '/nodes');
    if (r.status !== 200) throw this.unexpected('listing nodes', r);
    return this.read(NodeList, 'GET /api/v5/nodes', r);
  }

  /** Every running evacuation, in the operator's shape; null when this EMQX has no evacuation API. */
  async evacuations(): Promise<EvacuationEntry[] | null> {
    const r = await this.call('GET', '/load_rebalance/global_status');
    if (isPathNotFound(r)) return null;
    if (r.status !== 200) throw this.unexpected('reading evacuation status', r);
    return (await this.read(GlobalStatus, 'GET /api/v5/load_rebalance/global_status', r)).evacuations;
  }
}
