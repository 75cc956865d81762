/**
 * A release's own database and the role that owns it, on the PostgreSQL
 * where the releases keep their read models: created if absent, dropped
 * even while the release is still connected. The role's password is derived
 * from a secret and the role name, so the platform that starts the release
 * derives the same one and neither the workflow nor a state file carries it.
 * Ownership (src/domain/ownership.ts): the role's comment records the owner,
 * written in the transaction that creates it, and the database's comment
 * says the same where the connecting role may write it; a database without
 * one is its owning role's. With an owner, a database or role that is not the
 * target's is refused (created) or left alone (dropped).
 */
import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from 'pg';
import { NOT_OWNED, notOurs, ownerComment, parseOwnerComment, type Owner, type OwnerRecord, type ReleaseObjects } from '../../domain/ownership';

export function releaseRolePassword(secret: string, role: string): string {
  return createHmac('sha256', secret).update(role).digest('base64url');
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** What exists of a release's database and role, with what their comments record. */
interface Found {
  name: string;
  role?: { record?: OwnerRecord };
  database?: { ownedByRole: boolean; record?: OwnerRecord };
}

async function find(c: Client, name: string): Promise<Found> {
  const [role, db] = await Promise.all([
    c.query<{ comment: string | null }>(`SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1`, [name]),
    c.query<{ owner: string; comment: string | null }>(
      `SELECT pg_get_userbyid(datdba) AS owner, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [name],
    ),
  ]);
  const r = role.rows[0];
  const d = db.rows[0];
  return {
    name,
    ...(r ? { role: { record: parseOwnerComment(r.comment) } } : {}),
    ...(d ? { database: { ownedByRole: d.owner === name, record: parseOwnerComment(d.comment) } } : {}),
  };
}

/** The database's owner: its comment, else (owned by the release's role) the role's. */
const databaseOwner = (f: Found): Owner | undefined => f.database?.record?.owner ?? (f.database?.ownedByRole ? f.role?.record?.owner : undefined);

/** What of it is not the target's: none of it exists, or all of it is the target's, is fine. */
function foreign(f: Found, target: string): string | undefined {
  if (f.database && databaseOwner(f)?.target !== target) return notOurs(`database ${f.name}`, databaseOwner(f), target);
  if (f.role && f.role.record?.owner.target !== target) return notOurs(`role ${f.name}`, f.role.record?.owner, target);
  return undefined;
}

/** COMMENT ON DATABASE needs ownership of it, which the connecting role may lack: then the role's comment speaks for it. */
async function commentDatabase(c: Client, name: string, record: OwnerRecord): Promise<void> {
  await c.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(ownerComment(record))}`).catch((err: { code?: string }) => {
    if (err.code !== '42501') throw err;
  });
}

/**
 * The serving release's database and role, taken as the target's (the user's
 * own first blue, or one made before ownership comments): each without a
 * comment gets the target's with `adoptedBy`; another target's is a clash.
 */
async function adopt(c: Client, name: string, owner: Owner): Promise<void> {
  const found = await find(c, name);
  for (const [what, recorded] of [['role', found.role?.record?.owner], ['database', databaseOwner(found)]] as const) {
    if (recorded && recorded.target !== owner.target) throw ApplicationFailure.nonRetryable(notOurs(`${what} ${name}`, recorded, owner.target), NOT_OWNED);
  }
  if (found.role && !found.role.record) await c.query(`COMMENT ON ROLE ${quoteIdent(name)} IS ${quoteLiteral(ownerComment({ owner }))}`);
  if (found.database && !found.database.record) await commentDatabase(c, name, { owner });
}

export interface EnsureOptions {
  /** The owner to record; with it, a database or role of that name that is not the target's fails before anything changes. */
  owner?: Owner;
  /** The release the names are of (recorded with the owner, for the target's inventory). */
  release?: string;
  /** With an owner: the serving release's database to adopt first (see adopt). */
  adopt?: string;
}

export async function ensureReleaseDatabase(c: Client, name: string, secret: string, o: EnsureOptions = {}): Promise<{ database: string; role: string; created: boolean }> {
  const found = await find(c, name);
  const record = o.owner && { owner: o.owner, release: o.release };
  if (record) {
    const clash = foreign(found, record.owner.target);
    if (clash) throw ApplicationFailure.nonRetryable(clash, NOT_OWNED);
    if (o.adopt) await adopt(c, o.adopt, { target: record.owner.target, ...(record.owner.upgrade ? { adoptedBy: record.owner.upgrade } : {}) });
  }
  if (!found.role) {
    // the comment in the same transaction: a role of this name never exists without its owner
    await transaction(c, async () => {
      await c.query(`CREATE ROLE ${quoteIdent(name)} LOGIN PASSWORD ${quoteLiteral(releaseRolePassword(secret, name))}`);
      if (record) await c.query(`COMMENT ON ROLE ${quoteIdent(name)} IS ${quoteLiteral(ownerComment(record))}`);
    }).catch(ignoreDuplicate);
  }
  if (!found.database) {
    await c.query(`CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(name)}`).catch(ignoreDuplicate);
    if (record) await commentDatabase(c, name, record);
  }
  return { database: name, role: name, created: !found.database };
}

/** Drops the database (closing its connections) and its role. With a target: what is not the target's stays, said in `left`. */
export async function dropReleaseDatabase(c: Client, name: string, target?: string): Promise<{ database: string; dropped: boolean; left?: string }> {
  const found = await find(c, name);
  if (target) {
    const left = foreign(found, target);
    if (left) return { database: name, dropped: false, left };
  }
  await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  await c.query(`DROP ROLE IF EXISTS ${quoteIdent(name)}`);
  return { database: name, dropped: !!found.database };
}

/**
 * The target's release databases: those whose comment (or owning role's)
 * names the target, and those of the given releases whatever they record
 * (the serving one before its first upgrade adopted it).
 */
export async function listReleaseDatabases(c: Client, target: string, releases: { name: string; database: string }[]): Promise<ReleaseObjects[]> {
  const { rows } = await c.query<{ name: string; comment: string | null; role: string | null }>(
    `SELECT d.datname AS name, shobj_description(d.oid, 'pg_database') AS comment,
            CASE WHEN r.rolname = d.datname THEN shobj_description(r.oid, 'pg_authid') END AS role
       FROM pg_database d LEFT JOIN pg_roles r ON r.oid = d.datdba`,
  );
  const known = new Map(releases.map((r) => [r.database, r.name]));
  return rows.flatMap((row): ReleaseObjects[] => {
    const record = parseOwnerComment(row.comment) ?? parseOwnerComment(row.role);
    const release = known.get(row.name) ?? (record?.owner.target === target ? (record.release ?? row.name) : undefined);
    if (!release) return [];
    return [{ name: release, ...(record ? { owner: record.owner } : {}), weight: 0, objects: [`database ${row.name}`] }];
  });
}

async function transaction(c: Client, work: () => Promise<void>): Promise<void> {
  await c.query('BEGIN');
  try {
    await work();
    await c.query('COMMIT');
  } catch (err) {
    // a connection that broke cannot roll back (the server already did): the first error is the one to classify
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Two attempts racing to create the same thing: the other one won, which is what we wanted. */
function ignoreDuplicate(err: { code?: string }): void {
  if (err.code !== '42710' && err.code !== '42P04' && err.code !== '23505') throw err;
}
