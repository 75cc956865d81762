/** The cutover API as the demos call it: JSON in and out, a bearer token, an error with the status and body. */
export type DemoApi = <T>(method: string, path: string, token: string, body?: object) => Promise<T>;

export function demoApi(apiUrl: string): DemoApi {
  return async <T>(method: string, path: string, token: string, body?: object): Promise<T> => {
    const r = await fetch(`${apiUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body && JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    }).catch((err: Error) => {
      throw new Error(`no answer from cutover's API at ${apiUrl} (${err.message}): is npm start running? --api (or CUTOVER_API_URL) names it`, { cause: err });
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text) as T;
  };
}
