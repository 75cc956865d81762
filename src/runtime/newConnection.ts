/**
 * fetch on a connection opened for it and closed after its answer. After a
 * graceful reload nginx's old workers close all their idle keep-alive
 * connections at once; a request that a shared pool sends on one of those
 * just then fails with "other side closed" before any answer (a
 * `connection: close` header is not enough: undici may still send it on an
 * idle connection). Readers through the sandbox's nginx right after a route
 * change use a connection of their own instead.
 */
import { Client, type Dispatcher } from 'undici';

export interface NewConnectionInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** For the connection, the answer's headers and its body each. */
  timeoutMs?: number;
}

export async function fetchOnNewConnection(url: string, init: NewConnectionInit = {}): Promise<Response> {
  const u = new URL(url);
  const ms = init.timeoutMs ?? 10_000;
  const client = new Client(u.origin, { connectTimeout: ms, headersTimeout: ms, bodyTimeout: ms });
  try {
    const r = await client.request({ method: (init.method ?? 'GET') as Dispatcher.HttpMethod, path: `${u.pathname}${u.search}`, headers: init.headers, body: init.body });
    const body = await r.body.text();
    const headers = new Headers(Object.entries(r.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])));
    return new Response([204, 205, 304].includes(r.statusCode) ? null : body, { status: r.statusCode, headers });
  } finally {
    await client.destroy();
  }
}
