/**
 * fetch on a connection opened for it and closed after its answer. After a
 * graceful reload nginx's old workers close their idle keep-alive
 * connections; a request that a shared pool sends on one of those just then
 * fails with "other side closed" before any answer. Tests that read through
 * the sandbox's nginx right after a route change use a connection of their
 * own instead, as the load generator's retry does.
 */
import { Client, type Dispatcher } from 'undici';

export async function fetchOnNewConnection(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  const u = new URL(url);
  const client = new Client(u.origin);
  try {
    const r = await client.request({ method: (init.method ?? 'GET') as Dispatcher.HttpMethod, path: `${u.pathname}${u.search}`, headers: init.headers, body: init.body });
    const body = await r.body.text();
    const headers = new Headers(Object.entries(r.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])));
    return new Response([204, 205, 304].includes(r.statusCode) ? null : body, { status: r.statusCode, headers });
  } finally {
    await client.destroy();
  }
}
