/**
 * The CLI's only way to cutover: its HTTP API. Every refusal becomes a
 * CliError whose message says what to do: which variable holds a refused
 * token, which role a request needs, what holds a busy target, which URL
 * could not be reached.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from './contexts';
import { CliError, EXIT, type ExitCode } from './exitCodes';

type Role = 'viewer' | 'operator' | 'approver';

export interface Request {
  method?: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** The role the request needs, for the message of a 403. */
  role?: Role;
  /** Steering: the same key on a retry, so the upgrade acts once. */
  idempotent?: boolean;
  /** How long to wait for the answer (default REQUEST_TIMEOUT_MS). */
  timeoutMs?: number;
}

interface ApiErrorBody {
  error?: { status?: number; code?: string; message?: string; field?: string };
}

const REQUEST_TIMEOUT_MS = 30_000;
/** Network errors a steering request is retried after (with its Idempotency-Key): the request may have arrived. */
const RETRIED = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT']);

const causeCode = (err: unknown): string | undefined => {
  const cause = (err as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code ?? cause?.errors?.[0]?.code ?? ((err as Error).name === 'TimeoutError' ? 'ETIMEDOUT' : undefined);
};

export class ApiClient {
  constructor(readonly connection: Connection) {}

  async request<T>(req: Request): Promise<T> {
    const key = req.idempotent ? randomUUID() : undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(req, key);
      } catch (err) {
        if (!(key && attempt < 3 && RETRIED.has(causeCode(err) ?? ''))) throw this.unreachable(err);
      }
    }
  }

  private async once<T>(req: Request, key?: string): Promise<T> {
    const { url, token } = this.connection;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (key) headers['idempotency-key'] = key;
    const res = await fetch(`${url}${req.path}`, {
      method: req.method ?? 'GET',
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(req.timeoutMs ?? REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new CliError(EXIT.error, `${url}${req.path} answered ${res.status} with something that is not JSON: is ${url} a cutover API? (the URL came from ${this.connection.urlFrom})`);
    }
    if (res.ok) return json as T;
    throw await this.refusal(res.status, json as ApiErrorBody, req, res.headers.get('retry-after'));
  }

  private unreachable(err: unknown): unknown {
    if (err instanceof CliError) return err;
    const { url, urlFrom } = this.connection;
    const code = causeCode(err) ?? (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    return new CliError(
      EXIT.unreachable,
      `cannot reach the cutover API at ${url} (${code}); the URL came from ${urlFrom}: start the API (npm start), or set CUTOVER_URL, --url or a context (cutover config set-context) to where it listens`,
    );
  }

  private async refusal(status: number, body: ApiErrorBody, req: Request, retryAfter: string | null): Promise<CliError> {
    const said = body?.error?.message ?? `HTTP ${status}`;
    const fail = (code: ExitCode, message: string) => new CliError(code, message, body);
    const { tokenFrom } = this.connection;
    switch (status) {
      case 401:
        return fail(
          EXIT.unauthorized,
          this.connection.token
            ? `the API refused the token from ${tokenFrom} (${said}): set CUTOVER_TOKEN (or --token, or a context's token) to a token of the API's configuration (auth.tokens in cutover.config.yaml)`
            : `no token (${said}): ${tokenFrom ? `${tokenFrom} is not set; set it, or ` : ''}set CUTOVER_TOKEN, pass --token, or store one in a context (cutover config set-context NAME --url URL --token-env VAR)`,
        );
      case 403:
        return fail(EXIT.unauthorized, `${said}; use a token of a principal with the ${req.role ?? 'needed'} role (set CUTOVER_TOKEN, --token or a context's token; the token now is from ${tokenFrom})`);
      case 404:
        return fail(EXIT.refused, `${said}; cutover list shows the upgrades, cutover targets the targets`);
      case 409:
        return fail(EXIT.refused, `${said}${holder(said)}`);
      case 429:
        return fail(EXIT.refused, `${said}; try again${retryAfter ? ` in ${retryAfter} s` : ' later'}`);
      default:
        return fail(status >= 500 ? EXIT.error : EXIT.refused, said);
    }
  }
}

/** A conflict names the upgrade (or clean-up) that holds a target: say how to see it. */
function holder(message: string): string {
  const id = /\b([a-z0-9][-a-z0-9]*\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/.exec(message)?.[1];
  return id ? `; see it with: cutover status ${id}` : '';
}
