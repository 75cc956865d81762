/**
 * Kong activities: the runbook's steps that touch Kong itself. Migrations run
 * with the green version against the target's database (a process on the
 * local platform, a Kubernetes Job on Kubernetes) and are confirmed with
 * `list`, never by the exit code alone (the lock trap exits 0 without
 * migrating); readiness and draining through every node's /status/ready;
 * the Admin API freeze and the configuration fingerprint; the pg_dump
 * backup; smoke requests through green's own nodes; counters for analysis
 * from the nodes' Prometheus metrics. Every activity is safe to retry.
 */
import { ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import type { CommandRun } from '../../domain/kong/local';
import type { KongCounters } from '../../domain/kong/metrics';
import { LIST_EXIT, listMeaning, tail, type MigrationsCommand, type SchemaState } from '../../domain/kong/migrations';
import type { KindActivityDeps } from '../kinds';
import { withClient } from '../pg';
import { backupKong, type BackupRecord } from './backup';
import { clientConfig, fingerprint, freeze, unfreeze } from './database';
import { kongTargets } from './targets';

export interface KongActivitiesDeps extends KindActivityDeps {
  /** The pg_dump binary; default: pg_dump on PATH. */
  pgDump?: string;
  fetch?: typeof fetch;
}

/** What the state keeps of one migrations command. */
export interface MigrationRecord {
  command: MigrationsCommand;
  version: string;
  /** false: `list` showed it done already (a retry, or an earlier attempt of this upgrade). */
  ran: boolean;
  exitCode?: number;
  output: string[];
  /** `list` afterwards, with the same version. */
  list: { exitCode: number; meaning: string };
}

const DEFAULT_POLL_MS = 1000;

export function createKongActivities(deps: KongActivitiesDeps) {
  const env = deps.env ?? process.env;
  const fetchFn = deps.fetch ?? fetch;
  const { target, platform, counters } = kongTargets(deps);

  const db = (name: string) => clientConfig(target(name).kong, env);

  async function command(name: string, version: string, cmd: MigrationsCommand): Promise<CommandRun> {
    const r = await platform(name).run({ version, command: cmd });
    if (r.exitCode === LIST_EXIT.error) throw new Error(`kong migrations ${cmd} (Kong ${version}) failed: ${tail(r.output, 5).join(' | ')}`);
    return r;
  }

  async function status(name: string, version: string): Promise<SchemaState> {
    const r = await command(name, version, 'status');
    const line = r.output.find((l) => l.trim().startsWith('{'));
    if (!line) throw new Error(`kong migrations status (Kong ${version}) printed no JSON: ${tail(r.output, 5).join(' | ')}`);
    return JSON.parse(line) as SchemaState;
  }

  const list = async (name: string, version: string) => {
    const { exitCode } = await command(name, version, 'list');
    return { exitCode, meaning: listMeaning(exitCode) };
  };

  async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
    const res = await fetchFn(url, { ...init, signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  }

  return {
    /** `kong migrations status` with blue's version and with green's: what plan decides from. */
    async readKongMigrations(i: { target: string; blueVersion: string; greenVersion: string }): Promise<{ blue: SchemaState; green: SchemaState }> {
      const [blue, green] = await Promise.all([status(i.target, i.blueVersion), status(i.target, i.greenVersion)]);
      return { blue, green };
    },

    /**
     * `up` or `finish` with `version`, then `list` with it. Done already (list
     * says so): not run again. `list` still showing work after an exit 0 is
     * the lock trap (another node held the lock): a retryable failure.
     */
    async runKongMigrations(i: { target: string; version: string; command: 'up' | 'finish' }): Promise<MigrationRecord> {
      const done = (exit: number) => (i.command === 'up' ? exit === LIST_EXIT.pending || exit === LIST_EXIT.upToDate : exit === LIST_EXIT.upToDate);
      const before = await list(i.target, i.version);
      if (done(before.exitCode)) return { command: i.command, version: i.version, ran: false, output: [], list: before };
      heartbeat({ running: `kong migrations ${i.command}` });
      const r = await platform(i.target).run({ version: i.version, command: i.command });
      const after = await list(i.target, i.version);
      const record: MigrationRecord = { command: i.command, version: i.version, ran: true, exitCode: r.exitCode, output: tail(r.output), list: after };
      if (r.exitCode !== 0) {
        throw ApplicationFailure.nonRetryable(`kong migrations ${i.command} (Kong ${i.version}) exited ${r.exitCode}: ${tail(r.output, 3).join(' | ')}`, 'MigrationFailed', record);
      }
      if (!done(after.exitCode)) {
        throw ApplicationFailure.retryable(
          `kong migrations ${i.command} exited 0 but 'list' says ${after.meaning}` +
            (r.output.some((l) => l.includes('another node is performing database changes')) ? ' (aborted: another node is performing database changes)' : ''),
          'MigrationsNotApplied',
          record,
        );
      }
      return record;
    },

    /** Heartbeats until every node of the release answers 200 on /status/ready. */
    async waitKongNodesReady(i: { target: string; release: string; replicas: number }): Promise<{ release: string; ready: number; nodes: { pod: string; ready: boolean; message: string }[] }> {
      for (;;) {
        const nodes = await platform(i.target).nodes(i.release);
        const states = await Promise.all(
          nodes.map(async (n) => {
            const r = await getJson(`${n.statusUrl}/status/ready`).catch((e: Error) => ({ status: 0, body: { message: e.message } }));
            return { pod: n.pod, ready: r.status === 200, message: String((r.body as { message?: unknown })?.message ?? `HTTP ${r.status}`) };
          }),
        );
        const progress = { release: i.release, ready: states.filter((s) => s.ready).length, nodes: states };
        heartbeat(progress);
        if (progress.ready >= i.replicas && progress.ready === states.length) return progress;
        await sleep(deps.pollMs ?? DEFAULT_POLL_MS);
      }
    },

    /** POST /status/ready {"status":"draining"} on every node of the release: the balancer's health checks stop sending it new work. */
    async drainKongNodes(i: { target: string; release: string }): Promise<{ drained: string[] }> {
      const nodes = await platform(i.target).nodes(i.release);
      for (const n of nodes) {
        const r = await getJson(`${n.statusUrl}/status/ready`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'draining' }) });
        if (r.status >= 300) throw new Error(`draining ${n.pod}: HTTP ${r.status}`);
      }
      return { drained: nodes.map((n) => n.pod) };
    },

    /** Admin API writes answer 423 naming the upgrade (the freeze router reads this flag), until unfreeze. */
    async freezeKongAdmin(i: { target: string; upgradeId: string; reason: string }): Promise<{ upgrade: string; since: string }> {
      const held = await withClient(db(i.target), (c) => freeze(c, i.upgradeId, i.reason));
      if (held.upgrade !== i.upgradeId) throw ApplicationFailure.nonRetryable(`the Admin API of '${i.target}' is frozen by upgrade ${held.upgrade} since ${held.since}`, 'Conflict');
      return held;
    },

    async unfreezeKongAdmin(i: { target: string; upgradeId: string }): Promise<{ unfrozen: boolean }> {
      return { unfrozen: await withClient(db(i.target), (c) => unfreeze(c, i.upgradeId)) };
    },

    async kongConfigFingerprint(i: { target: string }): Promise<{ fingerprint: string; rows: Record<string, number> }> {
      return withClient(db(i.target), fingerprint);
    },

    /** pg_dump before `up`; a retry finds the dump of this upgrade and keeps it. */
    async backupKongDatabase(i: { target: string; upgradeId: string }): Promise<BackupRecord> {
      return backupKong(target(i.target).kong, db(i.target), env, deps.pgDump ?? 'pg_dump', i);
    },

    /** The user's smoke requests through every node of the release; a wrong status fails for good. */
    async smokeKong(i: { target: string; release: string; requests: { method: string; path: string; status: number }[] }): Promise<{ checked: number }> {
      const nodes = await platform(i.target).nodes(i.release);
      const wrong: string[] = [];
      for (const n of nodes) {
        for (const r of i.requests) {
          const res = await fetchFn(`${n.proxyUrl}${r.path}`, { method: r.method, signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
          if (res.status !== r.status) wrong.push(`${r.method} ${r.path} on ${n.pod}: ${res.status}, expected ${r.status}`);
        }
      }
      if (wrong.length) throw ApplicationFailure.nonRetryable(`smoke requests failed: ${wrong.join('; ')}`, 'SmokeFailed');
      return { checked: nodes.length * i.requests.length };
    },

    /** Requests, 5xx and latency buckets summed over a release's nodes. */
    kongCounters: (i: { target: string; release: string }): Promise<KongCounters> => counters(i.target, i.release),

  };
}

export type KongActivities = ReturnType<typeof createKongActivities>;
