/**
 * The sandbox gateway's database schema, by version, as Kong's migrations
 * shape it: each migration has an `up` part (additive: old and new versions
 * both serve from the result) and a `teardown` part (run by `finish`: after it
 * the old version's queries fail). 3.8.x knows only the base schema; 3.9.0
 * and later move a service's address from protocol/host/port/path columns
 * into one `url` column.
 */

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
  migrations: Migration[];
  /** Whether services are read and written through the single url column (3.9+). */
  serviceUrlColumn: boolean;
}

/** The sandbox knows Kong 3.8.x and later; patch releases bring no migrations. */
export function gatewayVersion(version: string): GatewayVersion {
  const m = /^3\.(\d+)\.\d+$/.exec(version);
  if (!m || Number(m[1]) < 8) throw new Error(`unsupported gateway version '${version}': the sandbox gateway knows 3.8.0 and later 3.x releases`);
  const newer = Number(m[1]) >= 9;
  return { version, migrations: newer ? [BASE, SERVICE_URL] : [BASE], serviceUrlColumn: newer };
}
