/** Names a projection release gets on its PostgreSQL and in the event store, derived so every layer agrees. */

/** The release's database and role (a release name starts with its target's): a PostgreSQL identifier of at most 63 bytes. */
export function releaseDatabaseName(release: string): string {
  return release.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
}

/** The release's event-processor name: each release tracks the store under its own name, so it builds its own projection. */
export function processorName(template: string, target: string, release: string): string {
  return template.replaceAll('{target}', target).replaceAll('{release}', release);
}

export const DEFAULT_PROCESSOR_TEMPLATE = '{target}-{release}';
