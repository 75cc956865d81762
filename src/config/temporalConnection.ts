/**
 * The Temporal connection, read through Temporal's own environment
 * configuration (@temporalio/envconfig) as every Temporal SDK and the CLI do:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* (client
 * certificate, key, server CA, server name), TEMPORAL_GRPC_META_*, and TOML
 * profiles (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE). The worker and the API use
 * the same one. A certificate file that cannot be read stops the start with the
 * variable (or profile key) that names it.
 */
import { accessSync, constants } from 'node:fs';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export interface TemporalConnection {
  /** Unset: cutover starts its own dev server. */
  address?: string;
  namespace?: string;
  /** address, tls, apiKey and metadata, for Connection.connect and NativeConnection.connect alike. */
  options: Pick<NativeConnectionOptions, 'address' | 'tls' | 'apiKey' | 'metadata'>;
}

const TLS_FILES: ['clientCert' | 'clientKey' | 'serverCACert', string, string][] = [
  ['clientCert', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'client_cert_path'],
  ['clientKey', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'client_key_path'],
  ['serverCACert', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'server_ca_cert_path'],
];

/** Reads the connection; returns the problems (variable and fix) instead of throwing, so they are reported with the others. */
export function loadTemporalConnection(env: NodeJS.ProcessEnv): { connection?: TemporalConnection; problems: string[] } {
  // empty counts as unset, as for cutover's own variables
  const given = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => !!e[1]));
  const problems: string[] = [];
  if (given.TEMPORAL_CONFIG_FILE && !readable(given.TEMPORAL_CONFIG_FILE)) {
    problems.push(`TEMPORAL_CONFIG_FILE=${JSON.stringify(given.TEMPORAL_CONFIG_FILE)} cannot be read. Set it to Temporal's TOML client configuration file, or unset it.`);
    return { problems };
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: given });
  } catch (err) {
    problems.push(`the Temporal client configuration (TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE) is invalid: ${(err as Error).message}`);
    return { problems };
  }
  const profileName = given.TEMPORAL_PROFILE ?? 'default';
  for (const [field, variable, key] of TLS_FILES) {
    const source = profile.tls?.[field];
    if (source && 'path' in source && !readable(source.path)) {
      const from = given[variable] === source.path ? `${variable}=${JSON.stringify(source.path)}` : `${key} = ${JSON.stringify(source.path)} in profile ${profileName} of the Temporal TOML file`;
      problems.push(`${from} cannot be read. Set it to a readable PEM file (mounted from a Secret), or unset it.`);
    }
  }
  if (problems.length) return { problems };
  const { connectionOptions, namespace } = toClientOptions(profile);
  const { address, tls, apiKey, metadata } = connectionOptions;
  return { connection: { address, namespace, options: { address, tls, apiKey, metadata } }, problems };
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
