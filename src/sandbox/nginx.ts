/**
 * nginx from Debian in front of the sandbox's nodes: stream upstreams (MQTT
 * over TCP) and http upstreams, with stub_status on a port of its own; a
 * kind's sandbox says which upstreams it needs. The upstream that carries
 * the target's traffic is its router's (src/activities/routers/nginx/): an
 * include file the router owns, which this nginx tests, reloads and
 * confirms for it (NginxControl). It runs from its own prefix (config, the
 * routers' files under routes/, pid file, logs, temp files), on loopback
 * ports only. A reload starts new workers with the new config, old workers
 * keep their connections until those close.
 * The master does not daemonize: it stays a child in the starter's process
 * group, so a terminal's Ctrl-C reaches it whatever happens to npm start, and
 * what a killed npm start leaves is in the group the next start stops.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { NginxControl } from '../domain/router';
import { describePortTaken, fdHolders, isAlive, terminate } from '../runtime/processes';
import { upstreamBlock } from '../activities/routers/nginx/upstream';

const run = promisify(execFile);

/** One upstream and the server that listens for it. */
export interface NginxUpstream {
  name: string;
  /** Loopback port the server listens on. */
  listen: number;
  /** Backend ports on 127.0.0.1; absent: a router owns the upstream, and its block is the router's include file. */
  servers?: { port: number; weight?: number; backup?: boolean }[];
  /** Appended to every server line, e.g. "max_fails=1 fail_timeout=5s". */
  serverOptions?: string;
  /** Inside the stream server, or the http server's location /. */
  directives: string[];
}

export interface NginxRoutes {
  /** stub_status at /status, and /generation (which config the workers run). */
  statusPort: number;
  /** TCP upstreams (MQTT). */
  streams: NginxUpstream[];
  /** HTTP upstreams (APIs, gateways, query services). */
  http: NginxUpstream[];
}

/** The nginx binary: on PATH, else Debian's /usr/sbin/nginx (not on a non-root PATH). */
export function nginxBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/sbin')) {
    if (dir && existsSync(join(dir, 'nginx'))) return join(dir, 'nginx');
  }
  throw new Error("nginx not found: run 'npm run bootstrap' (it installs Debian's nginx and libnginx-mod-stream)");
}

const streamModules = new Map<string, Promise<string | undefined>>();

/** Debian builds the stream module as a dynamic module; a static build needs no load_module. Asked once per binary: every switch writes a config. */
function streamModule(bin: string): Promise<string | undefined> {
  if (!streamModules.has(bin)) {
    streamModules.set(
      bin,
      run(bin, ['-V']).then(({ stderr }) => {
        if (!/--with-stream=dynamic/.test(stderr)) return undefined;
        const dir = /--modules-path=(\S+)/.exec(stderr)?.[1] ?? '/usr/lib/nginx/modules';
        return join(dir, 'ngx_stream_module.so');
      }),
    );
    streamModules.get(bin)!.catch(() => streamModules.delete(bin));
  }
  return streamModules.get(bin)!;
}

/** Where the router of an upstream keeps its block. */
export const ownedUpstreamFile = (prefix: string, upstream: string): string => join(prefix, 'routes', `${upstream}.conf`);

/** The upstream's block: its servers, or the include file of the router that owns it. */
function upstream(prefix: string, u: NginxUpstream): string {
  if (!u.servers) return `  include ${ownedUpstreamFile(prefix, u.name)};`;
  return upstreamBlock(u.name, u.servers.map((b) => ({ address: `127.0.0.1:${b.port}`, weight: b.weight, backup: b.backup })), u.serverOptions);
}

const indent = (lines: string[], by: string): string => lines.map((l) => `${by}${l}`).join('\n');

function streamServer(prefix: string, u: NginxUpstream): string {
  return `${upstream(prefix, u)}
  server {
    listen 127.0.0.1:${u.listen};
    proxy_pass ${u.name};
${indent(u.directives, '    ')}
  }`;
}

function httpServer(prefix: string, u: NginxUpstream): string {
  return `${upstream(prefix, u)}
  server {
    listen 127.0.0.1:${u.listen};
    location / {
      proxy_pass http://${u.name};
${indent(u.directives, '      ')}
    }
  }`;
}

export function nginxConfig(prefix: string, r: NginxRoutes, generation: number, opts: { streamModule?: string; root: boolean }): string {
  const temp = (what: string) => `${what}_temp_path ${join(prefix, 'temp', what)};`;
  const stream = r.streams.length ? `\nstream {\n${r.streams.map((u) => streamServer(prefix, u)).join('\n\n')}\n}\n` : '';
  return `# Written by cutover's local sandbox; rewritten at every reload. Generation ${generation}.
${opts.streamModule && r.streams.length ? `load_module ${opts.streamModule};\n` : ''}${opts.root ? '# Running as root: workers stay root, so they can use the temp files under the project.\nuser root;\n' : ''}worker_processes 1;
daemon off;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'logs', 'error.log')} notice;

events {
  worker_connections 10240;
}
${stream}
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}

${r.http.map((u) => httpServer(prefix, u)).join('\n\n')}

  server {
    listen 127.0.0.1:${r.statusPort};
    location = /status {
      stub_status;
    }
    # Which config the workers run: a reload is done once this answers the new generation.
    location = /generation {
      return 200 "${generation}";
    }
  }
}
`;
}

/** What nginx listens for on a port, for messages. */
function listenerOf(r: NginxRoutes, port: number): string {
  const u = [...r.streams, ...r.http].find((x) => x.listen === port);
  return u ? `nginx's listener of upstream ${u.name}` : `nginx's stub_status`;
}

/** How many configs back nginx's workers may still be answering for (a reload in flight), of which the routers' files are kept. */
const KEPT_GENERATIONS = 8;

export class Nginx implements NginxControl {
  private generation = 0;
  private applied = '';
  private routes: NginxRoutes | undefined;
  private readonly conf: string;
  /** The routers' files as written, by upstream. */
  private readonly owned = new Map<string, string>();
  /** The routers' files of each recent config generation: what the workers run, once /generation answers it. */
  private readonly generations = new Map<number, ReadonlyMap<string, string>>();

  constructor(
    readonly prefix: string,
    private readonly bin = nginxBinary(),
  ) {
    this.conf = join(prefix, 'nginx.conf');
  }

  private args(...more: string[]): string[] {
    return ['-p', this.prefix, '-c', this.conf, '-e', join(this.prefix, 'logs', 'error.log'), ...more];
  }

  private async nginx(...more: string[]): Promise<string> {
    try {
      const { stdout, stderr } = await run(this.bin, this.args(...more));
      return stdout + stderr;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`nginx ${more.join(' ')} (prefix ${this.prefix}) failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
    }
  }

  /** The pid the master recorded, alive or not. */
  private recordedPid(): number | undefined {
    try {
      return Number(readFileSync(join(this.prefix, 'nginx.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** The master's pid if one runs from this prefix (also one left behind by a process that died). */
  pid(): number | undefined {
    const pid = this.recordedPid();
    return pid !== undefined && isAlive(pid) ? pid : undefined;
  }

  /** Workers whose master was killed keep serving and holding the ports: the nginx processes that hold this prefix's error log. */
  private async stopOrphanWorkers(): Promise<void> {
    if (this.pid()) return;
    const log = resolve(this.prefix, 'logs', 'error.log');
    await terminate(fdHolders((target) => target === log).flatMap((p) => (p.command.startsWith('nginx:') ? [p.pid] : [])));
  }

  /** `nginx -t` on the current config: its output. */
  test(): Promise<string> {
    return this.nginx('-t');
  }

  get name(): string {
    return `the sandbox's nginx (prefix ${this.prefix})`;
  }

  /** Writes the config (atomically, tested before it replaces the old one), then starts nginx or reloads it and waits until its workers run it. */
  async apply(routes: NginxRoutes): Promise<void> {
    if (this.applied === JSON.stringify(routes) && this.pid()) return;
    await this.reload(routes);
    this.applied = JSON.stringify(routes);
  }

  /**
   * A router's block of an upstream: written to its file, then, if nginx
   * runs, the whole config tested with it and reloaded (a refused block is
   * taken back, the old file stays); if nginx does not run yet, its start
   * includes the file.
   */
  async applyOwned(upstream: string, text: string): Promise<{ changed: boolean }> {
    if (this.owned.get(upstream) === text) return { changed: false };
    const file = ownedUpstreamFile(this.prefix, upstream);
    const before = this.owned.get(upstream);
    mkdirSync(dirname(file), { recursive: true });
    const write = (t: string) => {
      writeFileSync(`${file}.next`, t);
      renameSync(`${file}.next`, file);
    };
    write(text);
    this.owned.set(upstream, text);
    if (!this.routes || !this.pid()) return { changed: true };
    try {
      await this.reload(this.routes);
    } catch (err) {
      if (before === undefined) this.owned.delete(upstream);
      else {
        write(before);
        this.owned.set(upstream, before);
      }
      throw err;
    }
    return { changed: true };
  }

  /** The router's block that nginx's workers run now: the file as it was in the config generation /generation answers. */
  async servedOwned(upstream: string): Promise<{ text: string; config: string } | undefined> {
    if (!this.routes) return undefined;
    const live = await this.liveGeneration(this.routes.statusPort);
    const text = this.generations.get(Number(live))?.get(upstream);
    return text === undefined ? undefined : { text, config: `config generation ${live}` };
  }

  private async reload(routes: NginxRoutes): Promise<void> {
    for (const d of ['logs', 'temp']) mkdirSync(join(this.prefix, d), { recursive: true });
    const generation = ++this.generation;
    const text = nginxConfig(this.prefix, routes, generation, { streamModule: await streamModule(this.bin), root: process.getuid?.() === 0 });
    const next = `${this.conf}.next`;
    writeFileSync(next, text);
    await run(this.bin, ['-t', '-q', '-p', this.prefix, '-c', next, '-e', join(this.prefix, 'logs', 'error.log')]).catch((err: { stderr?: string }) => {
      throw new Error(`nginx refused the generated config ${next}: ${err.stderr?.trim()}`);
    });
    renameSync(next, this.conf);
    this.routes = routes;
    this.generations.set(generation, new Map(this.owned));
    this.generations.delete(generation - KEPT_GENERATIONS);
    // A master left by an earlier run (killed without a stop) is adopted: reloaded, not started twice.
    // SIGHUP is what `nginx -s reload` sends, without starting another nginx to send it
    const master = this.pid();
    if (master) process.kill(master, 'SIGHUP');
    else await this.startMaster(routes);
    await this.waitGeneration(routes.statusPort, generation);
  }

  /**
   * Starts the master; a port still held by the workers of a master that is
   * just stopping frees up within seconds. One still taken after that is
   * named with the process holding it.
   */
  private async startMaster(routes: NginxRoutes): Promise<void> {
    await this.stopOrphanWorkers();
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await this.spawnMaster();
        return;
      } catch (err) {
        const taken = /bind\(\) to [^ ]*:(\d+) failed \(\d+: Address already in use\)/.exec((err as Error).message);
        if (!taken) throw err;
        if (Date.now() > deadline) throw new Error(`nginx (prefix ${this.prefix}) cannot listen: ${describePortTaken(Number(taken[1]), listenerOf(routes, Number(taken[1])))}`, { cause: err });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Resolves once the master recorded its pid (it listens by then), rejects with its error if it exits first. */
  private spawnMaster(): Promise<void> {
    const child = spawn(this.bin, this.args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((done, fail) => {
      const poll = setInterval(() => {
        if (this.recordedPid() !== child.pid || !isAlive(child.pid!)) return;
        clearInterval(poll);
        // It outlives its starter's event loop (npm start exits, and stops it, on its own terms).
        child.unref();
        (child.stderr as Socket).unref();
        done();
      }, 20);
      const failed = (why: string) => {
        clearInterval(poll);
        fail(new Error(`nginx (prefix ${this.prefix}) failed: ${stderr.trim() || why}`));
      };
      child.once('exit', (code, signal) => failed(`exited with ${code ?? signal}`));
      child.once('error', (err) => failed(err.message));
    });
  }

  /** Which config generation nginx's workers answer for; '' if none answers. */
  private liveGeneration(port: number): Promise<string> {
    return fetch(`http://127.0.0.1:${port}/generation`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.text())
      .catch(() => '');
  }

  private async waitGeneration(port: number, generation: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const seen = await this.liveGeneration(port);
      if (seen === String(generation)) return;
      if (Date.now() > deadline) throw new Error(`nginx did not take config generation ${generation} within 10 s; see ${join(this.prefix, 'logs', 'error.log')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the master and its workers at once (SIGTERM, nginx's fast shutdown: the master exits after its workers) and waits until they are gone, orphaned workers included. */
  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid) await terminate([pid]);
    await this.stopOrphanWorkers();
    this.applied = '';
  }
}
