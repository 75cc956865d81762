/** What npm start prints once it is up: where everything is, and per sandbox the command that upgrades it. */
import type { Config, Role } from '../config/file';
import { kindModule } from '../domain/kindRegistry';
import type { LocalSandbox } from '../sandbox/localSandbox';

export function printWelcome(config: Config, address: string, sandboxes: ReadonlyMap<string, LocalSandbox>, prometheus: { url: string; ours: boolean } | undefined): void {
  const api = `http://${config.env.api.host}:${config.env.api.port}`;
  const lines = [
    '',
    `cutover is up (task queue ${config.env.temporal.taskQueue}, Temporal at ${address})`,
    `  console:     ${api}/ui`,
    `  API docs:    ${api}/docs`,
    config.env.temporal.uiUrl ? `  Temporal UI: ${config.env.temporal.uiUrl}` : undefined,
    prometheus ? `  Prometheus:  ${prometheus.url}${prometheus.ours ? " (scraping cutover's /metrics, the worker's SDK metrics and the sandboxes' own)" : ''}` : undefined,
    `  targets:     ${config.targets.map((t) => `${t.name} (${t.kind})`).join(', ')}`,
    ...[...sandboxes.values()].map((s) => `  sandbox:     ${s.target}: ${s.kind.describe()}`),
    '',
    ...upgradeCommand(config, api, sandboxes),
    '',
    'Ctrl-C stops everything.',
  ];
  process.stdout.write(lines.filter((l) => l !== undefined).join('\n') + '\n');
}

/** The development token of a role, printed only while it is the one in use; else a placeholder. */
const tokenFor = (config: Config, role: Role): string =>
  config.auth.principals.find((p) => p.roles.includes(role) && p.tokenSource === 'devDefault')?.token ?? `<${role} token>`;

/** Per sandbox (else for the first target), the command that upgrades it, with its kind's quick options. */
function upgradeCommand(config: Config, api: string, sandboxes: ReadonlyMap<string, LocalSandbox>): string[] {
  const local = config.targets.filter((t) => sandboxes.has(t.name));
  const targets = local.length ? local : config.targets.slice(0, 1);
  return targets.flatMap((target) => {
    const upgrade = kindModule(target.kind).sandboxUpgrade;
    const version = upgrade?.version ?? '<version>';
    const body = { kind: target.kind, target: target.name, version, ...(sandboxes.has(target.name) && upgrade ? { options: upgrade.options } : {}) };
    return [
      `Upgrade ${target.name} to ${version}${upgrade?.note ? ` (${upgrade.note})` : ''}:`,
      `  curl -s -X POST ${api}/v1/upgrades -H 'Authorization: Bearer ${tokenFor(config, 'operator')}' -H 'Content-Type: application/json' \\`,
      `    -d '${JSON.stringify(body)}'`,
      'and follow it:',
      `  curl -s -H 'Authorization: Bearer ${tokenFor(config, 'viewer')}' '${api}/v1/upgrades?target=${target.name}'`,
    ];
  });
}
