/**
 * The sandbox gateway's database schema, by version, as Kong's migrations
 * shape it (its own migrations in the subsystem `core`, not Kong's): each
 * migration has an `up` part (additive: old and new versions both serve from
 * the result) and a `teardown` part (run by `finish`: after it the old
 * version's queries fail). 3.0 to 3.8 know only the base schema; 3.9.0 and
 * later move a service's address from protocol/host/port/path columns into
 * one `url` column (Kong's own 3.8 -> 3.9 migration has no teardown: this one
 * is the sandbox's, to show the point of no return).
 */

import { kongFeatures, parseKongVersion, type KongFeatures } from '../../domain/kong/versions';

export interface Migration {
  name: string;
  up: string;
  /** Run by `migrations finish`; a migration without one is executed at once by `up`. */
  teardown?: string;
}

const BASE: Migration = {
  name: '000_base',
  up: `
    CREATE TABLE IF NOT EXISTS services (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text UNIQUE NOT NULL,
      protocol text NOT NULL,
      host text NOT NULL,
      port integer NOT NULL,
      path text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS routes (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text UNIQUE NOT NULL,
      service_id uuid NOT NULL REFERENCES services(id) ON DELETE CASCADE,
      paths text[] NOT NULL,
      strip_path boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS plugins (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      service_id uuid REFERENCES services(id) ON DELETE CASCADE,
      route_id uuid REFERENCES routes(id) ON DELETE CASCADE,
      consumer_id uuid,
      config jsonb NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );`,
};

const SERVICE_URL: Migration = {
  name: '001_380_to_390',
  up: `
    ALTER TABLE services ADD COLUMN IF NOT EXISTS url text;
    UPDATE services SET url = protocol || '://' || host || ':' || port || coalesce(path, '') WHERE url IS NULL;
    ALTER TABLE services ALTER COLUMN protocol DROP NOT NULL, ALTER COLUMN host DROP NOT NULL, ALTER COLUMN port DROP NOT NULL;`,
  teardown: `
    DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'services' AND column_name = 'protocol') THEN
        UPDATE services SET url = protocol || '://' || host || ':' || port || coalesce(path, '') WHERE url IS NULL;
      END IF;
    END $$;
    ALTER TABLE services DROP COLUMN IF EXISTS protocol, DROP COLUMN IF EXISTS host, DROP COLUMN IF EXISTS port, DROP COLUMN IF EXISTS path;
    ALTER TABLE services ALTER COLUMN url SET NOT NULL;`,
};

/** Kong's own state tables, created by `bootstrap`. */
export const META_DDL = `
  CREATE TABLE IF NOT EXISTS schema_meta (
    key text, subsystem text, last_executed text, executed text[], pending text[],
    PRIMARY KEY (key, subsystem)
  );
  CREATE TABLE IF NOT EXISTS locks (key text PRIMARY KEY, owner text, ttl timestamptz);`;

export interface GatewayVersion {
  version: string;
  /** What the version's Kong has where cutover can tell (/status/ready, draining, the Admin API's and metrics' fields). */
  features: KongFeatures;
  migrations: Migration[];
  /** Whether services are read and written through the single url column (3.9+). */
  serviceUrlColumn: boolean;
}

/** The sandbox emulates Kong 3.0.0 and later 3.x (`kong migrations status` is new in 3.0); its patch releases bring no migrations. */
export function gatewayVersion(version: string): GatewayVersion {
  const v = /^3\.\d+\.\d+$/.test(version) ? parseKongVersion(version) : undefined;
  if (!v) throw new Error(`unsupported gateway version '${version}': the sandbox gateway knows 3.x releases such as 3.8.0`);
  const newer = v.minor >= 9;
  return { version, features: kongFeatures(v), migrations: newer ? [BASE, SERVICE_URL] : [BASE], serviceUrlColumn: newer };
}
