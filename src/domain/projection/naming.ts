/** Names a projection release gets on its PostgreSQL and in the event store, derived so every layer agrees. */

/** PostgreSQL identifiers: lower case letters, digits and underscores, at most 63 bytes. */
export function releaseDatabaseName(target: string, release: string): string {
  return `${target}_${release}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
}

/** The release's event-processor name: each release tracks the store under its own name, so it builds its own projection. */
export function processorName(template: string, target: string, release: string): string {
  return template.replaceAll('{target}', target).replaceAll('{release}', release);
}

export const DEFAULT_PROCESSOR_TEMPLATE = '{target}-{release}';
