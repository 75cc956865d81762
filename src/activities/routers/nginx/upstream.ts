/**
 * nginx as a router: the one upstream block it owns, in an include file of
 * its own that an nginx config includes in its stream {} or http {} block
 * (nginx's stream and http upstreams take the same server parameters:
 * weight=, backup, down, max_fails=, fail_timeout=, so one module serves
 * both). Each release's nodes share its weight (`weight=` per server line,
 * whatever the number of nodes per release); a release without traffic is
 * left out, or kept as `backup` servers; with no server at all, one marked
 * `down` makes nginx refuse. Each line names its release, so what nginx's
 * workers run reads back as weights by release. It writes nothing else of
 * the config: the file goes through the nginx that runs it (NginxControl:
 * `nginx -t` on the whole config, reload, wait until the workers run it).
 */
import type { NginxControl, ReleaseWeights, RouterReading, TrafficRouter } from '../../../domain/router';

export interface UpstreamServer {
  /** host:port */
  address: string;
  weight?: number;
  backup?: boolean;
  down?: boolean;
  /** The release it belongs to, said on its line so the block reads back by release. */
  release?: string;
}

/** The upstream a router owns: its name (what proxy_pass names) and how its servers are written. */
export interface OwnedUpstream {
  name: string;
  /** Appended to every server line, e.g. "max_fails=1 fail_timeout=5s". */
  serverOptions?: string;
  /** The releases without traffic: left out (default), or `backup` servers, which nginx tries when every serving one fails a request. */
  others?: 'backup';
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/** Per node, the release's share divided among its nodes, as whole nginx weights. */
export function nodeWeights(shares: { weight: number; nodes: number }[]): number[] {
  const lcm = shares.reduce((l, s) => (s.nodes ? (l * s.nodes) / gcd(l, s.nodes) : l), 1);
  return shares.map((s) => (s.nodes ? (s.weight * lcm) / s.nodes : 0));
}

/** An upstream block; with no server, one marked down, so nginx refuses connections instead of failing its config test. */
export function upstreamBlock(name: string, servers: UpstreamServer[], serverOptions?: string, indent = '  '): string {
  const lines = (servers.length ? servers : [{ address: '127.0.0.1:9', down: true }]).map(
    (s: UpstreamServer) =>
      `${indent}  server ${s.address}${s.weight !== undefined ? ` weight=${s.weight}` : ''}${s.backup ? ' backup' : ''}${s.down ? ' down' : ''}` +
      `${serverOptions && !s.down ? ` ${serverOptions}` : ''};${s.release ? ` # release ${s.release}` : ''}`,
  );
  return `${indent}upstream ${name} {\n${lines.join('\n')}\n${indent}}`;
}

/** The servers of the owned upstream for the releases' weights (each above 0, summing to 100) and every release's node addresses. */
export function upstreamServers(u: OwnedUpstream, weights: ReleaseWeights, nodes: Record<string, string[]>): UpstreamServer[] {
  const serving = Object.entries(weights);
  const perNode = nodeWeights(serving.map(([release, weight]) => ({ weight, nodes: nodes[release]?.length ?? 0 })));
  const servers = serving.flatMap(([release], i) => (nodes[release] ?? []).map((address) => ({ address, release, weight: perNode[i] })));
  const backups =
    u.others === 'backup'
      ? Object.entries(nodes)
          .filter(([release]) => !(release in weights))
          .flatMap(([release, addresses]) => addresses.map((address) => ({ address, release, backup: true })))
      : [];
  return [...servers, ...backups];
}

/** The owned include file: a line saying whose it is, and the block. */
export function ownedUpstreamText(target: string, u: OwnedUpstream, servers: UpstreamServer[]): string {
  return `# Owned by cutover (target '${target}'): rewritten at every switch; change its weights through cutover.\n${upstreamBlock(u.name, servers, u.serverOptions, '')}\n`;
}

/** The weights by release that an owned block gives (backup and down servers get nothing; nginx's default weight is 1). */
export function weightsOfOwned(text: string): ReleaseWeights {
  const weights: ReleaseWeights = {};
  for (const m of text.matchAll(/^\s*server \S+([^;]*); # release (\S+)$/gm)) {
    const [, params, release] = m as unknown as [string, string, string];
    const weight = / (?:backup|down)\b/.test(params) ? 0 : Number(/ weight=(\d+)/.exec(params)?.[1] ?? 1);
    weights[release] = (weights[release] ?? 0) + weight;
  }
  return Object.fromEntries(Object.entries(weights).filter(([, w]) => w > 0));
}

export interface NginxRouterOptions {
  target: string;
  upstream: OwnedUpstream;
  nginx: NginxControl;
  /** Every release's node addresses (host:port) on this upstream's port, in ordinal order. */
  nodes(): Record<string, string[]>;
}

export interface NginxRouter extends TrafficRouter {
  /** Writes the block for these weights through nginx, without reading it back (nginx may not run yet: its start includes the file). */
  apply(weights: ReleaseWeights): Promise<{ changed: boolean }>;
}

export function nginxRouter(o: NginxRouterOptions): NginxRouter {
  const apply = (weights: ReleaseWeights) => o.nginx.applyOwned(o.upstream.name, ownedUpstreamText(o.target, o.upstream, upstreamServers(o.upstream, weights, o.nodes())));
  const read = async (): Promise<RouterReading> => {
    const served = await o.nginx.servedOwned(o.upstream.name);
    if (!served) return { weights: {}, readiness: `${o.nginx.name}'s workers run no config with upstream ${o.upstream.name} now` };
    return { weights: weightsOfOwned(served.text), readiness: `${o.nginx.name}'s workers run ${served.config}` };
  };
  return {
    name: `upstream ${o.upstream.name} of ${o.nginx.name}`,
    apply,
    read,
    async write(weights) {
      const { changed } = await apply(weights);
      return { changed, served: await read() };
    },
  };
}
