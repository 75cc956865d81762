/** What the Kong activities need of the platform a target runs on (the local sandbox, or Kubernetes). */
import type { CommandRun, KongNodeAddress } from '../../domain/kong/local';
import type { MigrationsCommand } from '../../domain/kong/migrations';

/** Runs migrations commands and finds a release's nodes, on the target's platform. */
export interface KongPlatform {
  /** `blue`: the release whose pods' settings a Kubernetes Job copies (plugins, TLS to the database, its schema). */
  run(i: { version: string; command: MigrationsCommand; force?: boolean; blue?: string }): Promise<CommandRun>;
  nodes(release: string): Promise<KongNodeAddress[]>;
}
