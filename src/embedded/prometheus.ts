/**
 * The embedded default's Prometheus: Debian's `prometheus` binary on a
 * loopback port, its TSDB, config and target files under one directory
 * (.data/prometheus for npm start, a temp dir in tests). Every job is
 * discovered from a file_sd target file (targets/<job>.json), so cutover, the
 * worker and the sandboxes add or move their scrape targets with
 * setTargets() while Prometheus runs, without a reload.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnOwnGroup, stopChild } from '../runtime/childProcess';
import { freePort, portIsFree } from '../runtime/freePort';

export interface PrometheusOptions {
  /** Config, target files and the TSDB (under data/) live here. */
  dir: string;
  /** Loopback port; taken: a free one instead. Omitted: a free one. */
  port?: number;
  /** How often every target is scraped (and file_sd re-read). */
  scrapeIntervalMs?: number;
  startTimeoutMs?: number;
}

export interface ScrapeOptions {
  /** Default /metrics. */
  metricsPath?: string;
  /** Extra labels on every series of these targets, e.g. { target: 'sandbox-kong' }. */
  labels?: Record<string, string>;
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The scrape targets (host:port) of one job, replacing the job's earlier ones; [] removes the job. */
  setTargets(job: string, targets: string[], options?: ScrapeOptions): void;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Debian's binary, or PROMETHEUS_PATH. */
export function prometheusBinary(): string {
  const bin = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
  if (!existsSync(bin)) throw new Error(`prometheus not found at ${bin}: run 'npm run bootstrap' (it installs Debian's prometheus), or set PROMETHEUS_PATH`);
  return bin;
}

export function prometheusConfig(targetsDir: string, scrapeIntervalMs: number): string {
  const every = `${Math.max(1, Math.round(scrapeIntervalMs / 1000))}s`;
  // One scrape config for every job: the job label comes from each target file.
  return `# Written by cutover at every start; jobs come from ${targetsDir}/*.json.
global:
  scrape_interval: ${every}
  evaluation_interval: ${every}
scrape_configs:
  - job_name: file_sd
    scrape_timeout: ${every}
    file_sd_configs:
      - files: ['${join(targetsDir, '*.json')}']
        refresh_interval: ${every}
`;
}

const JOB = /^[A-Za-z0-9_.-]+$/;

export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusServer> {
  const targetsDir = join(o.dir, 'targets');
  mkdirSync(join(o.dir, 'data'), { recursive: true });
  mkdirSync(targetsDir, { recursive: true });
  const configFile = join(o.dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(targetsDir, o.scrapeIntervalMs ?? 5000));
  const port = o.port !== undefined && (await portIsFree(o.port)) ? o.port : await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnOwnGroup(
    prometheusBinary(),
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(o.dir, 'data')}`,
      '--storage.tsdb.retention.time=15d',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = () => stopChild(child);
  try {
    await waitReady(url, child, () => stderr, o.startTimeoutMs ?? 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    setTargets(job, targets, options = {}) {
      if (!JOB.test(job)) throw new Error(`'${job}' is not a job name (letters, digits, _ . -)`);
      const labels = { ...options.labels, job, ...(options.metricsPath ? { __metrics_path__: options.metricsPath } : {}) };
      // Written aside and renamed, so Prometheus never reads half a file.
      const file = join(targetsDir, `${job}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify(targets.length ? [{ targets, labels }] : []));
      renameSync(`${file}.tmp`, file);
    },
    process: child,
    stop,
  };
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr()}`);
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`prometheus did not get ready on ${url} in ${timeoutMs} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
