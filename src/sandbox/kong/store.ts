/**
 * The gateway's configuration (services, routes and the prometheus plugin) in
 * PostgreSQL, read and written the way its version's schema says: before 3.9
 * through protocol/host/port/path, 3.9+ through url. So after `migrations
 * finish` an older node's queries fail (its columns are gone), and between
 * `up` and `finish` a write by one version is half invisible to the other
 * (Kong/kong #9404). A write with a field Kong's schema does not have is
 * refused as Kong refuses it (kong/db/schema/init.lua, "unknown field").
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

/**
 * A failed write the Admin API answers as Kong does (kong/db/errors.lua): 400
 * schema violation (code 2), 409 unique constraint violation (code 5), 404.
 */
export class WriteError extends Error {
  readonly fields: Record<string, unknown>;
  /** `field: what` for each field, as in Kong's message. */
  readonly detail: string;
  constructor(
    readonly status: 400 | 404 | 409,
    field: string | Record<string, unknown>,
    message: string,
  ) {
    super(message);
    this.fields = typeof field === 'string' ? { [field]: message } : field;
    this.detail = typeof field === 'string' ? `${field}: ${message}` : message;
  }
}

/** The fields of Kong's entity schemas (kong/db/schema/entities/*.lua at 3.9.0; `url` is the services' shorthand). */
const FIELDS = {
  services: ['id', 'created_at', 'updated_at', 'name', 'retries', 'protocol', 'host', 'port', 'path', 'connect_timeout', 'write_timeout', 'read_timeout', 'tags', 'client_certificate', 'tls_verify', 'tls_verify_depth', 'ca_certificates', 'enabled', 'url'],
  routes: ['id', 'created_at', 'updated_at', 'name', 'protocols', 'https_redirect_status_code', 'strip_path', 'preserve_host', 'request_buffering', 'response_buffering', 'tags', 'service', 'snis', 'sources', 'destinations', 'methods', 'hosts', 'paths', 'headers', 'regex_priority', 'path_handling', 'expression', 'priority'],
  plugins: ['id', 'name', 'instance_name', 'created_at', 'updated_at', 'route', 'service', 'consumer', 'config', 'protocols', 'enabled', 'tags'],
};

/** Fields a schema does not have: a 400 naming each, as Kong's schema violation does. */
function refuseUnknown(known: readonly string[], body: Record<string, unknown>, prefix?: string): void {
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (!unknown.length) return;
  const fields = Object.fromEntries(unknown.map((k) => [k, 'unknown field']));
  throw new WriteError(400, prefix ? { [prefix]: fields } : fields, unknown.map((k) => `${prefix ? `${prefix}.` : ''}${k}: unknown field`).join('; '));
}

/** The prometheus plugin's config fields (kong/plugins/prometheus/schema.lua): ai_metrics from 3.8. */
function prometheusFields(v: GatewayVersion): string[] {
  return ['per_consumer', 'status_code_metrics', 'latency_metrics', 'bandwidth_metrics', 'upstream_health_metrics', ...(v.features.prometheusAiMetrics ? ['ai_metrics'] : [])];
}

export interface Plugin {
  id: string;
  name: string;
  config: Record<string, boolean>;
  enabled: boolean;
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

function conflict(err: unknown, field: string, value: string): never {
  if ((err as { code?: string }).code === '23505') throw new WriteError(409, { [field]: value }, `UNIQUE violation detected on '{${field}="${value}"}'`);
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
    refuseUnknown(FIELDS.services, body);
    const name = checkName(body.name);
    const addr = parseServiceUrl(body.url);
    const { rows } = this.v.serviceUrlColumn
      ? await this.pool.query(`INSERT INTO services (name, url) VALUES ($1, $2) RETURNING id, name, url`, [name, serviceUrl(addr)]).catch((e) => conflict(e, 'name', name))
      : await this.pool
          .query(`INSERT INTO services (name, protocol, host, port, path) VALUES ($1, $2, $3, $4, $5) RETURNING id, name, protocol, host, port, path`, [name, addr.protocol, addr.host, addr.port, addr.path])
          .catch((e) => conflict(e, 'name', name));
    return this.toService(rows[0]);
  }

  async updateService(key: string, body: { url?: unknown }): Promise<Service> {
    refuseUnknown(FIELDS.services, body);
    const addr = parseServiceUrl(body.url);
    const { rows } = this.v.serviceUrlColumn
      ? await this.pool.query(`UPDATE services SET url = $2, updated_at = now() WHERE ${byKey(key)} RETURNING id, name, url`, [key, serviceUrl(addr)])
      : await this.pool.query(
          `UPDATE services SET protocol = $2, host = $3, port = $4, path = $5, updated_at = now() WHERE ${byKey(key)} RETURNING id, name, protocol, host, port, path`,
          [key, addr.protocol, addr.host, addr.port, addr.path],
        );
    if (!rows[0]) throw new WriteError(404, {}, 'Not found');
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
    refuseUnknown(FIELDS.routes, body);
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
      .catch((e) => conflict(e, 'name', name));
    return { ...rows[0], service: { id: svc.id } };
  }

  async deleteRoute(key: string): Promise<void> {
    await this.pool.query(`DELETE FROM routes WHERE ${byKey(key)}`, [key]);
  }

  async plugins(): Promise<Plugin[]> {
    return (await this.pool.query<Plugin>(`SELECT id, name, config, enabled FROM plugins ORDER BY created_at`)).rows;
  }

  /** A global plugin; the sandbox knows prometheus only, its config filled with the schema's defaults (every flag off). */
  async createPlugin(body: { name?: unknown; config?: unknown; enabled?: unknown }): Promise<Plugin> {
    refuseUnknown(FIELDS.plugins, body);
    if (body.name !== 'prometheus') throw new WriteError(400, 'name', `plugin '${String(body.name)}' not enabled; add it to the 'plugins' configuration property`);
    const config = this.prometheusConfig({}, body.config ?? {});
    const { rows } = await this.pool.query<Plugin>(`INSERT INTO plugins (name, config, enabled) VALUES ($1, $2, $3) RETURNING id, name, config, enabled`, [
      body.name,
      config,
      body.enabled ?? true,
    ]);
    return rows[0];
  }

  async updatePlugin(id: string, body: { config?: unknown; enabled?: unknown }): Promise<Plugin> {
    refuseUnknown(FIELDS.plugins, body);
    const current = (await this.pool.query<Plugin>(`SELECT id, name, config, enabled FROM plugins WHERE id::text = $1`, [id])).rows[0];
    if (!current) throw new WriteError(404, {}, 'Not found');
    const config = this.prometheusConfig(current.config, body.config ?? {});
    const { rows } = await this.pool.query<Plugin>(`UPDATE plugins SET config = $2, enabled = $3, updated_at = now() WHERE id = $1 RETURNING id, name, config, enabled`, [
      current.id,
      config,
      body.enabled ?? current.enabled,
    ]);
    return rows[0];
  }

  async deletePlugin(id: string): Promise<void> {
    await this.pool.query(`DELETE FROM plugins WHERE id::text = $1`, [id]);
  }

  /** What the global, enabled prometheus plugins turn on; none (or no plugins table, in a sandbox older than it): nothing. */
  async prometheusFlags(): Promise<{ statusCodeMetrics: boolean; latencyMetrics: boolean }> {
    const { rows } = await this.pool
      .query<{ config: Record<string, boolean> }>(`SELECT config FROM plugins WHERE name = 'prometheus' AND enabled AND service_id IS NULL AND route_id IS NULL AND consumer_id IS NULL`)
      .catch((err: { code?: string }) => (err.code === '42P01' ? { rows: [] } : Promise.reject(err)));
    return { statusCodeMetrics: rows.some((r) => r.config.status_code_metrics), latencyMetrics: rows.some((r) => r.config.latency_metrics) };
  }

  private prometheusConfig(current: Record<string, boolean>, change: unknown): Record<string, boolean> {
    const fields = prometheusFields(this.v);
    if (typeof change !== 'object' || change === null) throw new WriteError(400, 'config', 'expected a record');
    refuseUnknown(fields, change as Record<string, unknown>, 'config');
    const merged = { ...Object.fromEntries(fields.map((f) => [f, false])), ...current, ...(change as Record<string, boolean>) };
    const bad = Object.entries(merged).find(([, val]) => typeof val !== 'boolean');
    if (bad) throw new WriteError(400, { config: { [bad[0]]: 'expected a boolean' } }, `config.${bad[0]}: expected a boolean`);
    return merged;
  }
}
