/**
 * What the worker itself does on a Kong database: the Admin API freeze flag
 * the freeze router reads, and the configuration fingerprint (the backup is
 * backup.ts). Connection settings come from the target's `kong.database` block
 * when an activity runs; the password from the worker's environment (secret: ../targetAccess.ts).
 */
import { createHash } from 'node:crypto';
import type { Client, ClientConfig } from 'pg';
import type { KongAccess } from '../../domain/kong/schema';
import type { SecretRef } from '../../domain/schemas';

export function clientConfig(access: KongAccess, secret: (ref: SecretRef) => string): ClientConfig {
  const d = access.database;
  return { host: d.host, port: d.port ?? 5432, database: d.database ?? 'kong', user: d.user, password: secret(d.password), connectionTimeoutMillis: 5000 };
}

/** The freeze flag: one row while an upgrade holds Admin API writes. */
export const FREEZE_DDL = `CREATE TABLE IF NOT EXISTS cutover_admin_freeze (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), upgrade text NOT NULL, reason text NOT NULL, since timestamptz NOT NULL DEFAULT now())`;

/** Sets the flag for this upgrade; another upgrade's flag is kept and reported (one upgrade per target runs at a time). */
export async function freeze(c: Client, upgrade: string, reason: string): Promise<{ upgrade: string; since: string }> {
  await c.query(FREEZE_DDL);
  await c.query(`INSERT INTO cutover_admin_freeze (upgrade, reason) VALUES ($1, $2) ON CONFLICT (singleton) DO NOTHING`, [upgrade, reason]);
  const { rows } = await c.query<{ upgrade: string; since: Date }>(`SELECT upgrade, since FROM cutover_admin_freeze`);
  return { upgrade: rows[0].upgrade, since: rows[0].since.toISOString() };
}

export async function unfreeze(c: Client, upgrade: string): Promise<boolean> {
  if (!(await c.query(`SELECT to_regclass('cutover_admin_freeze') AS t`)).rows[0].t) return false;
  const { rowCount } = await c.query(`DELETE FROM cutover_admin_freeze WHERE upgrade = $1`, [upgrade]);
  return !!rowCount;
}

/** Kong's configuration tables, those that exist here. */
const CONFIG_TABLES = ['services', 'routes', 'plugins', 'consumers', 'upstreams', 'targets', 'certificates', 'snis', 'ca_certificates'];

/**
 * A fingerprint of the configuration: per table, every row's id and when it
 * last changed. Migrations rewrite columns but not updated_at, so `up` leaves
 * it as it was; a create, update or delete through any Admin API changes it.
 */
export async function fingerprint(c: Client): Promise<{ fingerprint: string; rows: Record<string, number> }> {
  const rows: Record<string, number> = {};
  const hash = createHash('sha256');
  for (const table of CONFIG_TABLES) {
    const { rows: exists } = await c.query(`SELECT to_regclass($1) AS t`, [table]);
    if (!exists[0].t) continue;
    const { rows: cols } = await c.query(`SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = 'updated_at'`, [table]);
    const stamp = cols.length ? `coalesce(extract(epoch FROM updated_at)::text, '')` : `''`;
    const { rows: r } = await c.query<{ n: string; h: string | null }>(
      `SELECT count(*) AS n, md5(string_agg(id::text || ':' || ${stamp}, ',' ORDER BY id)) AS h FROM "${table}"`,
    );
    rows[table] = Number(r[0].n);
    hash.update(`${table}=${r[0].n}:${r[0].h ?? ''};`);
  }
  return { fingerprint: hash.digest('hex').slice(0, 16), rows };
}
