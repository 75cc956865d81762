/** A local sandbox Kong target on free ports (PostgreSQL, two gateway nodes behind nginx, the Admin API router) and cutover's activities for it. */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKongActivities } from '../../src/activities/kong';
import { kongAnalysisProviders } from '../../src/activities/kong/analysisProvider';
import type { AnalysisProvider } from '../../src/activities/analysis/provider';
import { createPlatformActivities } from '../../src/activities/platforms';
import { targetLookup, type TargetConfig } from '../../src/config/targets';
import { freePort } from '../../src/runtime/freePort';
import { kongSandbox, type KongSandbox } from '../../src/sandbox/kong/sandbox';
import { LocalSandbox } from '../../src/sandbox/localSandbox';

export const TARGET = 'sandbox-kong';

export interface KongStack {
  target: TargetConfig;
  sandbox: LocalSandbox;
  kong: KongSandbox;
  ports: Record<string, number>;
  dataDir: string;
  activities: ReturnType<typeof createKongActivities> & ReturnType<typeof createPlatformActivities>;
  kongAnalysis: AnalysisProvider;
  stop(): Promise<void>;
}

/** Target `sandbox-kong` unless named otherwise (a name of its own keeps its workflow id apart from other files'). */
export async function startKongStack(o: { version?: string; name?: string } = {}): Promise<KongStack> {
  const name = o.name ?? TARGET;
  const dataDir = mkdtempSync(join(tmpdir(), 'cutover-kong-stack-'));
  chmodSync(dataDir, 0o755); // PostgreSQL may run as the postgres user
  const ports: Record<string, number> = {};
  for (const p of ['proxy', 'admin', 'status', 'postgres', 'upstream']) ports[p] = await freePort();
  const env: NodeJS.ProcessEnv = {};
  const target: TargetConfig = {
    name,
    kind: 'kong',
    local: { cluster: name, version: o.version ?? '3.8.0', replicas: 2, ports },
    kong: { database: { host: '127.0.0.1', port: ports.postgres, user: 'cutover', password: { env: 'KONG_PG_PASSWORD' } }, backupDir: join(dataDir, 'backups') },
  };
  const kong = kongSandbox({ placement: target.local!, access: target.kong!, env, dbUpdateFrequencyMs: 200 });
  const sandbox = new LocalSandbox({ target: name, placement: target.local!, dataDir, kind: kong });
  await sandbox.start();
  const deps = { targets: targetLookup([target]), sandboxes: new Map([[name, sandbox]]), env, pollMs: 100 };
  return {
    target,
    sandbox,
    kong,
    ports,
    dataDir,
    activities: { ...createPlatformActivities(deps), ...createKongActivities(deps) },
    kongAnalysis: kongAnalysisProviders(deps).kong,
    stop: () => sandbox.stop(),
  };
}
