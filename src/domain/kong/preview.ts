/** What a Kong upgrade does at each step on a target, for a preview: from the settings and the migrations plan its plan made. */
import { formatDuration } from '../duration';
import { count, type KindPreview, type KindPreviewInput } from '../kindPreview';
import { formatMigrations, type MigrationPlan } from './migrations';
import type { KongSettings } from './settings';
import { kongFeatures, parseKongVersion } from './versions';

/** What the Kong strategy's plan decided (src/workflows/strategies/kong.ts). */
export interface KongPlanned {
  migrations: MigrationPlan;
}

/** What `prepare` does about the migrations, by the plan. */
function migrationsAt(plan: MigrationPlan, blue: string, green: string): string {
  switch (plan.action) {
    case 'up':
      return `kong migrations up with Kong ${green} (${formatMigrations(plan.migrations)})`;
    case 'alreadyUp':
      return `no migrations up: an earlier attempt ran it already (${formatMigrations(plan.migrations)})`;
    case 'finishEarlier':
      return `kong migrations finish with Kong ${blue} for an earlier upgrade's pending migrations (${formatMigrations(plan.earlier)})${plan.then.length ? `, then kong migrations up with Kong ${green} (${formatMigrations(plan.then)})` : ''}`;
    case 'none':
    case 'refuse':
      return `no migrations: Kong ${green} brings none`;
  }
}

/** Whether finalize runs `kong migrations finish` (as the strategy decides it). */
const finishes = (plan: MigrationPlan): boolean => !(plan.action === 'none' || plan.action === 'refuse' || (plan.action === 'finishEarlier' && !plan.then.length));

export function previewKong({ settings: s, planned, blue, green, image }: KindPreviewInput<KongSettings, KongPlanned>): KindPreview {
  const n = blue.replicas;
  const plan = planned.migrations;
  const fingerprint = 'check the configuration fingerprint is unchanged (a write that bypassed the freeze waits for a person to approve or roll back)';
  const draining = kongFeatures(parseKongVersion(blue.version)!).postDraining ? 'POST /status/ready draining' : 'out of the router; no draining before Kong 3.9';
  return {
    greenReplicas: n,
    found: `Kong ${blue.version} to ${green.version}; ${migrationsAt(plan, blue.version, green.version)}`,
    steps: {
      prepare: {
        does: `freeze Admin API writes and fingerprint the configuration; ${s.backup ? 'back up the database (pg_dump); ' : ''}${migrationsAt(plan, blue.version, green.version)}`,
        undo: `unfreeze Admin API writes; the migrations stay pending (Kong ${blue.version} keeps serving from them)`,
      },
      deployGreen: { does: `start ${green.name} with ${count(n, 'node')}${image ? ` (image ${image})` : ''} on the same database`, undo: `remove ${green.name}` },
      waitReady: { does: `wait until ${green.name}'s ${count(n, 'node')} run and answer GET /status/ready`, waitsFor: `${green.name}'s ${count(n, 'node')} to start` },
      verify: {
        does: `${fingerprint}${s.smoke.length ? `; ${s.smoke.length === 1 ? 'a smoke request' : count(s.smoke.length, 'smoke request')} through ${green.name}: ${s.smoke.map((r) => `${r.method} ${r.path} → ${r.status}`).join(', ')}` : ''}`,
      },
      finalize: {
        does: finishes(plan)
          ? `${fingerprint}; then kong migrations finish with Kong ${green.version}: after it Kong ${blue.version} cannot use the database`
          : `${fingerprint}; no migrations to finish`,
      },
      cleanUpBlue: {
        does: `drain ${blue.name} (${draining}), wait for its requests to end (at most ${formatDuration(s.drainTimeoutMs)}), remove it, unfreeze Admin API writes`,
        waitsFor: `the requests on ${blue.name}'s nodes to end (at most ${formatDuration(s.drainTimeoutMs)})`,
      },
    },
  };
}
