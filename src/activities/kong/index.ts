/**
 * Kong activities: the runbook's steps that touch Kong itself. Migrations run
 * with the green version against the target's database (a process on the
 * local platform, a Kubernetes Job on Kubernetes) and are confirmed with
 * `list`, never by the exit code alone (the lock trap exits 0 without
 * migrating); readiness through every node's /status/ready; draining by
 * version (POST /status/ready from 3.9, then the node's connections wait to
 * fall); the Admin API freeze and the configuration fingerprint; the pg_dump
 * backup; smoke requests through green's own nodes; counters for analysis
 * from the nodes' Prometheus metrics. Every answer of Kong's is read through
 * the schema of what Kong prints; every activity is safe to retry.
 */
import { ApplicationFailure, activityInfo, heartbeat, sleep } from '@temporalio/activity';
import type { MigrationsStatus } from '../../domain/kong/answers';
import type { KongNodeAddress } from '../../domain/kong/local';
import type { KongCounters } from '../../domain/kong/metrics';
import { LIST_EXIT, tail, type MigrationsCommand } from '../../domain/kong/migrations';
import { kongFeatures, kongVersionProblem, parseKongVersion } from '../../domain/kong/versions';
import { isTransientStatus } from '../../domain/retry';
import type { KindActivityDeps } from '../kindActivityDeps';
import { withDatabase } from '../pg';
import { noAnswerCause, readInWait } from '../transient';
import { backupKong, type BackupRecord } from './backup';
import { clientConfig, fingerprint, freeze, unfreeze } from './database';
import { commandFailure, migrationsCli } from './migrationsCli';
import { KONG_REFUSED, nodeApi } from './nodeApi';
import { kongNodes } from './nodes';
import { targetAccess } from '../targetAccess';

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

/** One node of the release cleanUpBlue removes, as its drain ended. */
export interface DrainedNode {
  pod: string;
  /** What the node runs: its Admin API's word where the platform knows it, else the release's version. */
  version: string;
  /** 3.9+: POST /status/ready {"status":"draining"} answered 204; before 3.9 there is none, and the router sends it nothing already. */
  draining: 'POST /status/ready' | 'out of the router';
  /** connections_active (GET /status) at the last reading; it counts the status request itself. */
  connections?: number;
  /** Requests in flight at the last reading, the status request itself left out (active - waiting - 1). */
  inFlight?: number;
  /** idle: no request in flight on two readings in a row; or the time limit passed; or why its status API refused connections. */
  ended: string;
  /** The last reading that failed and may succeed the next time (a 5xx, a reset, a timeout). */
  lastError?: string;
}

const DEFAULT_POLL_MS = 1000;

export function createKongActivities(deps: KongActivitiesDeps) {
  const env = deps.env ?? process.env;
  const fetchFn = deps.fetch ?? fetch;
  const api = nodeApi(fetchFn);
  const { platform, counters } = kongNodes(deps);
  const targets = targetAccess(deps);
  const cli = migrationsCli(platform);
  const pollMs = deps.pollMs ?? DEFAULT_POLL_MS;

  const db = (name: string) => clientConfig(targets.block(name, 'kong'), targets.secret);

  /**
   * The version a node runs: its Admin API's GET / where the platform gives
   * its address, else the release's (absent in the input of an upgrade
   * started before cutover passed it).
   */
  async function runs(n: KongNodeAddress, release: string, version: string | undefined): Promise<string> {
    if (n.adminUrl) return api.version({ ...n, adminUrl: n.adminUrl }, version ?? `of release ${release}`);
    if (version) return version;
    throw ApplicationFailure.nonRetryable(`the Kong version of ${n.pod} (release ${release}) is unknown: its platform gives no Admin API to ask`, 'Misconfigured');
  }

  return {
    /** `kong migrations status` with blue's version and with green's: what plan decides from. */
    async readKongMigrations(i: { target: string; blueVersion: string; greenVersion: string; blue?: string }): Promise<{ blue: MigrationsStatus; green: MigrationsStatus }> {
      const [blue, green] = await Promise.all([cli.status(i.target, i.blueVersion, i.blue), cli.status(i.target, i.greenVersion, i.blue)]);
      return { blue, green };
    },

    /**
     * `up` or `finish` with `version`, then `list` with it. Done already (list
     * says so): not run again. `list` still showing work after an exit 0 is
     * the lock trap (another node held the lock): a retryable failure.
     */
    async runKongMigrations(i: { target: string; version: string; command: 'up' | 'finish'; blue?: string }): Promise<MigrationRecord> {
      const done = (exit: number) => (i.command === 'up' ? exit === LIST_EXIT.pending || exit === LIST_EXIT.upToDate : exit === LIST_EXIT.upToDate);
      const before = await cli.list(i.target, i.version, i.blue);
      if (done(before.exitCode)) return { command: i.command, version: i.version, ran: false, output: [], list: before };
      heartbeat({ running: `kong migrations ${i.command}` });
      const r = await platform(i.target).run({ version: i.version, command: i.command, blue: i.blue });
      if (r.exitCode !== 0) {
        const failed = { command: i.command, version: i.version, ran: true, exitCode: r.exitCode, output: tail(r.output), list: before };
        throw commandFailure(i.command, i.version, r, failed);
      }
      const after = await cli.list(i.target, i.version, i.blue);
      const record: MigrationRecord = { command: i.command, version: i.version, ran: true, exitCode: r.exitCode, output: tail(r.output), list: after };
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

    /**
     * Heartbeats until every node of the release answers 200 on
     * /status/ready; a node whose Admin API says it runs another version than
     * `version` fails for good.
     */
    async waitKongNodesReady(i: { target: string; release: string; replicas: number; version?: string }): Promise<{ release: string; ready: number; nodes: { pod: string; ready: boolean; message: string }[] }> {
      for (;;) {
        const listed = await readInWait(() => platform(i.target).nodes(i.release));
        if ('failed' in listed) {
          heartbeat({ release: i.release, ready: 0, nodes: [], lastError: listed.failed });
          await sleep(pollMs);
          continue;
        }
        const nodes = listed.ok;
        const states = await Promise.all(
          nodes.map(async (n) => {
            const running = n.adminUrl ? await runs(n, i.release, i.version).catch((err: ApplicationFailure) => (err.nonRetryable ? Promise.reject(err) : i.version)) : i.version;
            if (i.version && running !== i.version) {
              throw ApplicationFailure.nonRetryable(`${n.pod} runs Kong ${running} (its Admin API's GET /), not the ${i.version} of release ${i.release}`, 'KongAnswer');
            }
            const r = await api.ready(n, running ?? `of release ${i.release}`).catch((err: ApplicationFailure) => (err.nonRetryable ? Promise.reject(err) : { ready: false, message: err.message }));
            return { pod: n.pod, ...r };
          }),
        );
        const progress = { release: i.release, ready: states.filter((s) => s.ready).length, nodes: states };
        heartbeat(progress);
        if (progress.ready >= i.replicas && progress.ready === states.length) return progress;
        await sleep(pollMs);
      }
    },

    /**
     * Drains every node of a release that gets no traffic any more, by what
     * its version has: from 3.9.0, POST /status/ready {"status":"draining"}
     * (its /status/ready then answers 503, so balancers that check it stop
     * sending it work); before 3.9 there is no such call (405), and the node
     * is out of cutover's router already. Then, either way, reads the node's
     * GET /status every poll until its connections carry no request but the
     * status request itself (connections_active - connections_waiting <= 1)
     * on two readings in a row, or until `timeoutMs` has passed since the
     * first attempt: what is left then are requests that outlast it (streams,
     * long polls), and the node is removed anyway, past the point of no
     * return. Idle keep-alive connections (waiting) are not waited for: they
     * carry nothing, and Kong closes them when it stops.
     */
    async drainKongNodes(i: { target: string; release: string; version?: string; timeoutMs?: number }): Promise<{ drained: DrainedNode[] }> {
      const started = (activityInfo().heartbeatDetails as { startedAt?: number } | undefined)?.startedAt ?? Date.now();
      const deadline = started + (i.timeoutMs ?? 90_000);
      const nodes = await platform(i.target).nodes(i.release);
      const drained: (DrainedNode & { node: KongNodeAddress })[] = [];
      for (const n of nodes) {
        const running = await runs(n, i.release, i.version);
        const v = parseKongVersion(running);
        if (!v || kongVersionProblem(running, 'blue')) throw ApplicationFailure.nonRetryable(`${n.pod}: ${kongVersionProblem(running, 'blue')}`, 'Unsupported');
        if (kongFeatures(v).postDraining) await api.drain(n, running);
        drained.push({ node: n, pod: n.pod, version: running, draining: kongFeatures(v).postDraining ? 'POST /status/ready' : 'out of the router', ended: 'waiting' });
      }
      for (;;) {
        for (const d of drained.filter((x) => x.ended === 'waiting')) {
          try {
            const { server } = await api.status(d.node, d.version);
            delete d.lastError;
            const wasIdle = d.inFlight === 0;
            d.connections = server.connections_active;
            d.inFlight = Math.max(0, server.connections_active - server.connections_waiting - 1);
            if (d.inFlight === 0 && wasIdle) d.ended = 'idle';
          } catch (err) {
            if ((err as ApplicationFailure).nonRetryable) throw err;
            // a node that refuses connections serves nothing that can be waited for; one that failed to answer now may next time
            if ((err as ApplicationFailure).type === KONG_REFUSED) d.ended = (err as Error).message;
            else d.lastError = (err as Error).message;
          }
        }
        const waiting = drained.filter((d) => d.ended === 'waiting');
        if (waiting.length && Date.now() >= deadline) waiting.forEach((d) => (d.ended = 'time limit'));
        const result = drained.map(({ node: _, ...d }) => d);
        heartbeat({ startedAt: started, drained: result });
        if (!drained.some((d) => d.ended === 'waiting')) return { drained: result };
        await sleep(pollMs);
      }
    },

    /** Admin API writes answer 423 naming the upgrade (the freeze router reads this flag), until unfreeze. */
    async freezeKongAdmin(i: { target: string; upgradeId: string; reason: string }): Promise<{ upgrade: string; since: string }> {
      const held = await withDatabase(db(i.target), `freezing the Admin API of '${i.target}'`, (c) => freeze(c, i.upgradeId, i.reason));
      if (held.upgrade !== i.upgradeId) throw ApplicationFailure.nonRetryable(`the Admin API of '${i.target}' is frozen by upgrade ${held.upgrade} since ${held.since}`, 'Conflict');
      return held;
    },

    async unfreezeKongAdmin(i: { target: string; upgradeId: string }): Promise<{ unfrozen: boolean }> {
      return { unfrozen: await withDatabase(db(i.target), `unfreezing the Admin API of '${i.target}'`, (c) => unfreeze(c, i.upgradeId)) };
    },

    async kongConfigFingerprint(i: { target: string }): Promise<{ fingerprint: string; rows: Record<string, number> }> {
      return withDatabase(db(i.target), `fingerprinting the configuration of '${i.target}'`, fingerprint);
    },

    /** pg_dump before `up`; a retry finds the dump of this upgrade and keeps it. */
    async backupKongDatabase(i: { target: string; upgradeId: string }): Promise<BackupRecord> {
      return backupKong(targets.block(i.target, 'kong'), db(i.target), env, deps.pgDump ?? 'pg_dump', i);
    },

    /** The user's smoke requests through every node of the release; a wrong status fails for good. */
    async smokeKong(i: { target: string; release: string; requests: { method: string; path: string; status: number }[] }): Promise<{ checked: number }> {
      const nodes = await platform(i.target).nodes(i.release);
      const wrong: string[] = [];
      let transient = true;
      for (const n of nodes) {
        for (const r of i.requests) {
          const where = `${r.method} ${r.path} on ${n.pod}`;
          let status: number;
          try {
            const res = await fetchFn(`${n.proxyUrl}${r.path}`, { method: r.method, signal: AbortSignal.timeout(10_000) });
            await res.arrayBuffer();
            status = res.status;
          } catch (err) {
            throw ApplicationFailure.retryable(`smoke request ${where}: no answer (${noAnswerCause(err)})`, 'KongUnreachable');
          }
          if (status === r.status) continue;
          wrong.push(`${where}: ${status}, expected ${r.status}`);
          transient &&= isTransientStatus(status);
        }
      }
      // a 5xx may be green's upstream or a node still starting: tried again within verify's time limit; any other answer is the answer
      if (wrong.length) throw ApplicationFailure.create({ message: `smoke requests failed: ${wrong.join('; ')}`, type: 'SmokeFailed', nonRetryable: !transient });
      return { checked: nodes.length * i.requests.length };
    },

    /** Requests, 5xx and latency buckets summed over a release's nodes. */
    kongCounters: (i: { target: string; release: string }): Promise<KongCounters> => counters(i.target, i.release),
  };
}

export type KongActivities = ReturnType<typeof createKongActivities>;
