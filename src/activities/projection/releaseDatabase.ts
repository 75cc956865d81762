/**
 * A release's own database and the role that owns it, on the PostgreSQL
 * where the releases keep their read models: created if absent, dropped
 * even while the release is still connected. The role's password is derived
 * from a secret and the role name, so the platform that starts the release
 * derives the same one and neither the workflow nor a state file carries it.
 */
import { createHmac } from 'node:crypto';
import { Client } from 'pg';

export function releaseRolePassword(secret: string, role: string): string {
  return createHmac('sha256', secret).update(role).digest('base64url');
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;

export async function ensureReleaseDatabase(c: Client, name: string, secret: string): Promise<{ database: string; role: string; created: boolean }> {
  const role = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  if (!role.rowCount) await c.query(`CREATE ROLE ${quoteIdent(name)} LOGIN PASSWORD ${quoteLiteral(releaseRolePassword(secret, name))}`).catch(ignoreDuplicate);
  const db = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!db.rowCount) await c.query(`CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(name)}`).catch(ignoreDuplicate);
  return { database: name, role: name, created: !db.rowCount };
}

export async function dropReleaseDatabase(c: Client, name: string): Promise<{ database: string; dropped: boolean }> {
  const db = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  await c.query(`DROP ROLE IF EXISTS ${quoteIdent(name)}`);
  return { database: name, dropped: !!db.rowCount };
}

/** Two attempts racing to create the same thing: the other one won, which is what we wanted. */
function ignoreDuplicate(err: { code?: string }): void {
  if (err.code !== '42710' && err.code !== '42P04' && err.code !== '23505') throw err;
}
