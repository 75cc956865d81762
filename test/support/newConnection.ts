/**
 * fetch on a connection of its own. After a graceful reload nginx's old
 * workers close their idle keep-alive connections; a request that undici
 * sends on one of those just then fails with "other side closed" before any
 * answer. Tests that read through the sandbox's nginx right after a route
 * change open a new connection instead, as the load generator retries.
 */
export function fetchOnNewConnection(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), connection: 'close' } });
}
