/**
 * The gateway's configuration (services and routes) in PostgreSQL, read and
 * written the way its version's schema says: 3.8 through protocol/host/port/path,
 * 3.9+ through url. So after `migrations finish` a 3.8 node's queries fail
 * (its columns are gone), and between `up` and `finish` a write by one version
 * is half invisible to the other (Kong/kong #9404).
 */
import type { Pool } from 'pg';
import type { GatewayVersion } from './schema';

export interface Service {
  id: string;
  name: string;
  protocol: string;
  host: string;
  port: number;
  path: string | null;
}

export interface Route {
  id: string;
  name: string;
  paths: string[];
  strip_path: boolean;
  service: { id: string };
}

/** What the proxy routes by. */
export interface RouteTarget {
  route: string;
  service: string;
  paths: string[];
  stripPath: boolean;
  /** Base URL of the service, without a trailing slash. */
  url: string;
}

/** A failed write the Admin API answers with 400 or 409, Kong-style. */
export class WriteError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const serviceUrl = (s: Pick<Service, 'protocol' | 'host' | 'port' | 'path'>): string => `${s.protocol}://${s.host}:${s.port}${s.path ?? ''}`;

export function parseServiceUrl(url: unknown): Omit<Service, 'id' | 'name'> {
  if (typeof url !== 'string') throw new WriteError(400, 'url', 'required field missing');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new WriteError(400, 'url', `'${url}' is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new WriteError(400, 'url', 'protocol must be http or https');
  const protocol = u.protocol.slice(0, -1);
  const path = u.pathname === '/' ? null : u.pathname.replace(/\/$/, '');
  return { protocol, host: u.hostname, port: Number(u.port || (protocol === 'https' ? 443 : 80)), path };
}

const NAME = /^[\w.~-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const byKey = (key: string): string => (UUID.test(key) ? 'id = $1' : 'name = $1');

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) throw new WriteError(400, 'name', 'must be letters, digits, or one of . - _ ~');
  return name;
}

function conflict(err: unknown, field: string): never {
  if ((err as { code?: string }).code === '23505') throw new WriteError(409, field, `UNIQUE violation detected on '{${field}}'`);
  throw err;
}

export class ConfigStore {
  constructor(
    private readonly pool: Pool,
    private readonly v: GatewayVersion,
  ) {}

  private serviceColumns(): string {
    return this.v.serviceUrlColumn ? 'id, name, url' : 'id, name, protocol, host, port, path';
  }

  private toService(row: Record<string, unknown>): Service {
    if (!this.v.serviceUrlColumn) return row as unknown as Service;
    return { id: row.id as string, name: row.name as string, ...parseServiceUrl(row.url) };
  }

  /** Every route with its service's URL; throws when this version's columns are gone. */
  async routeTargets(): Promise<RouteTarget[]> {
    const url = this.v.serviceUrlColumn ? 's.url' : `s.protocol || '://' || s.host || ':' || s.port || coalesce(s.path, '')`;
    const { rows } = await this.pool.query<RouteTarget>(
      `SELECT r.name AS route, s.name AS service, r.paths, r.strip_path AS "stripPath", ${url} AS url
       FROM routes r JOIN services s ON s.id = r.service_id ORDER BY r.created_at`,
    );
    // A service written by the other version during a migration may have no address this version reads.
    return rows.filter((r) => r.url !== null);
  }

  async services(): Promise<Service[]> {
    const { rows } = await this.pool.query(`SELECT ${this.serviceColumns()} FROM services ORDER BY created_at`);
    return rows.map((r) => this.toService(r));
  }

  async service(key: string): Promise<Service | undefined> {
    const { rows } = await this.pool.query(`SELECT ${this.serviceColumns()} FROM services WHERE ${byKey(key)}`, [key]);
    return rows[0] ? this.toService(rows[0]) : undefined;
  }

  async createService(body: { name?: unknown; url?: unknown }): Promise<Service> {
    const name = checkName(body.name);
    const addr = parseServiceUrl(body.url);
    const { rows } = this.v.serviceUrlColumn
      ? await this.pool.query(`INSERT INTO services (name, url) VALUES ($1, $2) RETURNING id, name, url`, [name, serviceUrl(addr)]).catch((e) => conflict(e, 'name'))
      : await this.pool
          .query(`INSERT INTO services (name, protocol, host, port, path) VALUES ($1, $2, $3, $4, $5) RETURNING id, name, protocol, host, port, path`, [name, addr.protocol, addr.host, addr.port, addr.path])
          .catch((e) => conflict(e, 'name'));
    return this.toService(rows[0]);
  }

  async updateService(key: string, body: { url?: unknown }): Promise<Service> {
    const addr = parseServiceUrl(body.url);
    const { rows } = this.v.serviceUrlColumn
      ? await this.pool.query(`UPDATE services SET url = $2, updated_at = now() WHERE ${byKey(key)} RETURNING id, name, url`, [key, serviceUrl(addr)])
      : await this.pool.query(
          `UPDATE services SET protocol = $2, host = $3, port = $4, path = $5, updated_at = now() WHERE ${byKey(key)} RETURNING id, name, protocol, host, port, path`,
          [key, addr.protocol, addr.host, addr.port, addr.path],
        );
    if (!rows[0]) throw new WriteError(404, 'service', 'Not found');
    return this.toService(rows[0]);
  }

  async deleteService(key: string): Promise<void> {
    await this.pool.query(`DELETE FROM services WHERE ${byKey(key)}`, [key]);
  }

  async routes(): Promise<Route[]> {
    const { rows } = await this.pool.query<Route & { service_id: string }>(`SELECT id, name, paths, strip_path, service_id FROM routes ORDER BY created_at`);
    return rows.map(({ service_id, ...r }) => ({ ...r, service: { id: service_id } }));
  }

  async createRoute(body: { name?: unknown; paths?: unknown; strip_path?: unknown; service?: { id?: unknown; name?: unknown } }): Promise<Route> {
    const name = checkName(body.name);
    const paths = body.paths;
    if (!Array.isArray(paths) || !paths.length || !paths.every((p) => typeof p === 'string' && p.startsWith('/'))) {
      throw new WriteError(400, 'paths', 'must be a non-empty array of paths starting with /');
    }
    const key = body.service?.id ?? body.service?.name;
    if (typeof key !== 'string') throw new WriteError(400, 'service', 'required field missing');
    const svc = await this.service(key);
    if (!svc) throw new WriteError(400, 'service', `the referenced service '${key}' does not exist`);
    const strip = body.strip_path ?? true;
    if (typeof strip !== 'boolean') throw new WriteError(400, 'strip_path', 'expected a boolean');
    const { rows } = await this.pool
      .query(`INSERT INTO routes (name, service_id, paths, strip_path) VALUES ($1, $2, $3, $4) RETURNING id, name, paths, strip_path`, [name, svc.id, paths, strip])
      .catch((e) => conflict(e, 'name'));
    return { ...rows[0], service: { id: svc.id } };
  }

  async deleteRoute(key: string): Promise<void> {
    await this.pool.query(`DELETE FROM routes WHERE ${byKey(key)}`, [key]);
  }
}
