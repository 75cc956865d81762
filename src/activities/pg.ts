/** One PostgreSQL connection for one piece of work: opened, used, closed whatever happens. */
import { Client, type ClientConfig } from 'pg';

export async function withClient<T>(config: string | ClientConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client(config);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    // a connection the server already dropped has nothing left to close
    await c.end().catch(() => undefined);
  }
}
