/**
 * What the local platform offers the Kong activities for a sandbox Kong
 * target (the runtime hands it in; activities never import the sandbox):
 * running a migrations command of a version as a process, as a Kubernetes
 * Job runs it from an image, and the addresses of a release's nodes.
 */
import type { MigrationsCommand } from './migrations';

export interface KongNodeAddress {
  pod: string;
  proxyUrl: string;
  statusUrl: string;
  /** Its Admin API, where the platform knows it (the sandbox's nodes). */
  adminUrl?: string;
}

export interface CommandRun {
  exitCode: number;
  output: string[];
}

export interface LocalKong {
  runMigrations(i: { version: string; command: MigrationsCommand; force?: boolean }): Promise<CommandRun>;
  /** The running nodes of a release, in ordinal order. */
  nodes(release: string): Promise<KongNodeAddress[]>;
}

/** Whether a local target's kindPort is a Kong sandbox's (LocalWorkloads.kindPort is of no kind). */
export function isLocalKong(port: unknown): port is LocalKong {
  return typeof port === 'object' && port !== null && 'runMigrations' in port && typeof port.runMigrations === 'function' && 'nodes' in port && typeof port.nodes === 'function';
}
