/**
 * One release of the sandbox projection service started as a process, with
 * what a service derives from its release name (as on Kubernetes from
 * CUTOVER_RELEASE): its processor name, its database and role, and the
 * role's password from the target's rolePasswordSecret. The local sandbox
 * and the test kubelet start releases through this.
 */
import { join } from 'node:path';
import { releaseRolePassword } from '../../activities/projection/releaseDatabase';
import { DEFAULT_PROCESSOR_TEMPLATE, processorName, releaseDatabaseName } from '../../domain/projection/naming';
import { startSandboxProcess, type SandboxProcess } from '../process';
import type { ProjectionServiceOptions } from './service';

export interface ReleaseServiceSpec extends Pick<ProjectionServiceOptions, 'target' | 'release' | 'version' | 'host' | 'port' | 'eventStoreUrl' | 'api' | 'stallAt'> {
  /** The PostgreSQL that holds the releases' databases. */
  databases: { host: string; port: number };
  rolePasswordSecret: string;
  processorTemplate?: string;
  handlerCostUs: number;
  logFile: string;
}

const SERVICE_SCRIPT = join(__dirname, 'serviceMain.ts');

export function startReleaseService(s: ReleaseServiceSpec): Promise<SandboxProcess> {
  const db = releaseDatabaseName(s.release);
  return startSandboxProcess({
    label: `sandbox projection service ${s.release} (${s.logFile})`,
    script: SERVICE_SCRIPT,
    args: [],
    env: {
      PROJECTION_TARGET: s.target,
      PROJECTION_RELEASE: s.release,
      PROJECTION_VERSION: s.version,
      PROJECTION_HOST: s.host ?? '127.0.0.1',
      PROJECTION_PORT: String(s.port),
      PROJECTION_EVENT_STORE_URL: s.eventStoreUrl,
      PROJECTION_PROCESSOR: processorName(s.processorTemplate ?? DEFAULT_PROCESSOR_TEMPLATE, s.target, s.release),
      PROJECTION_READ_DB_URL: `postgres://${db}:${encodeURIComponent(releaseRolePassword(s.rolePasswordSecret, db))}@${s.databases.host}:${s.databases.port}/${db}`,
      CUTOVER_API_URL: s.api.url,
      CUTOVER_SERVICE_TOKEN: s.api.token,
      PROJECTION_HANDLER_COST_US: String(s.handlerCostUs),
      ...(s.stallAt !== undefined ? { PROJECTION_STALL_AT: String(s.stallAt) } : {}),
    },
    logFile: s.logFile,
    startTimeoutMs: 60_000,
  });
}
