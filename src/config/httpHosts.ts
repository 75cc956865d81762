/**
 * The hosts http analysis checks may reach (a policy's httpHosts): names with
 * `*` for any run of characters within a label (`*.shop.svc`,
 * `{{green}}`-style release hosts `orders-*.orders.svc:8080`), an optional
 * port; addresses and CIDR blocks (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`).
 * A name that is allowed must still resolve to an address that is: one an
 * address pattern names, or one outside the ranges a request must never
 * reach through a name (loopback, link-local and the cloud metadata
 * addresses, unspecified, multicast).
 */
import { BlockList, isIP } from 'node:net';

/** Never reached through a name unless an address pattern names them. */
const SPECIAL: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], // link-local, 169.254.169.254 the metadata of AWS, GCP, Azure, OpenStack
  ['100.100.100.200', 32, 'ipv4'], // Alibaba Cloud's metadata
  ['168.63.129.16', 32, 'ipv4'], // Azure's wire server
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fd00:ec2::254', 128, 'ipv6'], // AWS's metadata over IPv6
  ['ff00::', 8, 'ipv6'],
];

const special = new BlockList();
for (const [net, prefix, type] of SPECIAL) special.addSubnet(net, prefix, type);

const NAME = /^(\*|[a-z0-9_*]([-a-z0-9_*]*[a-z0-9_*])?)(\.(\*|[a-z0-9_*]([-a-z0-9_*]*[a-z0-9_*])?))*(:[0-9]{1,5})?$/;

export interface HostRules {
  /** A URL's host (name or address literal) and port. */
  allowsHost(hostname: string, port: number): boolean;
  /** An address a name resolved to. */
  allowsAddress(address: string): boolean;
}

const bare = (hostname: string) => hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
const family = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Why a pattern cannot be used, or undefined. */
export function hostPatternProblem(pattern: string): string | undefined {
  const [address, prefix] = pattern.split('/');
  if (isIP(bare(address))) {
    const max = isIP(bare(address)) === 6 ? 128 : 32;
    if (prefix !== undefined && !(/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= max)) return `'${pattern}' has a prefix length that is not 0 to ${max}`;
    return undefined;
  }
  if (prefix !== undefined || !NAME.test(pattern.toLowerCase())) {
    return `'${pattern}' is neither a host name (letters, digits, dashes, * within a label, an optional :port) nor an address or CIDR block`;
  }
  return undefined;
}

export function hostRules(patterns: readonly string[]): HostRules {
  const addresses = new BlockList();
  const names: { host: RegExp; port?: number }[] = [];
  for (const pattern of patterns) {
    const [address, prefix] = pattern.split('/');
    const ip = bare(address);
    if (isIP(ip)) {
      addresses.addSubnet(ip, prefix === undefined ? (isIP(ip) === 6 ? 128 : 32) : Number(prefix), family(ip));
    } else {
      const [host, port] = pattern.toLowerCase().split(':');
      const glob = host.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*');
      names.push({ host: new RegExp(`^${glob}$`), port: port === undefined ? undefined : Number(port) });
    }
  }
  return {
    allowsHost(hostname, port) {
      const host = bare(hostname);
      if (isIP(host)) return addresses.check(host, family(host));
      return names.some((n) => n.host.test(host) && (n.port === undefined || n.port === port));
    },
    allowsAddress(address) {
      const ip = bare(address);
      return addresses.check(ip, family(ip)) || !special.check(ip, family(ip));
    },
  };
}

/** A URL's port, the scheme's own when it names none. */
export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}
