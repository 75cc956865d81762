/** Notification sinks in the configuration file: each mistake stops the start naming the field and the fix. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, readConfigFile } from '../../src/config/file';
import { subscriptionsFor } from '../../src/config/notifications';
import { configErrorOf as errorOf } from '../support/configError';

const dir = mkdtempSync(join(tmpdir(), 'cutover-notify-config-'));
let n = 0;
const ACCESS = "emqx: { apiUrl: 'http://emqx:18083', apiKey: { env: EMQX_KEY }, apiSecret: { env: EMQX_SECRET } }";

/** A valid file but for its notifications (global) and the target's own. */
function file(notifications: string, targetNotifications = ''): string {
  const path = join(dir, `config-${n++}.yaml`);
  writeFileSync(
    path,
    `
targets:
  - name: orders-mqtt
    kind: emqx
    kubernetes: { namespace: mqtt, workload: { kind: StatefulSet, name: emqx }, service: emqx }
    ${ACCESS}
${targetNotifications ? `    notifications:\n${targetNotifications.replace(/^/gm, '      ')}` : ''}
  - { name: edge, kind: emqx, kubernetes: { namespace: edge, workload: { kind: StatefulSet, name: emqx }, service: emqx }, ${ACCESS} }
auth:
  tokens:
    - { principal: ops, roles: [operator], token: { env: OPS_TOKEN, devDefault: ops-dev-token-0000 } }
${notifications}
`,
  );
  return path;
}


const GLOBAL = `
notifications:
  consoleUrl: https://cutover.example.com
  sinks:
    - name: ops-webhook
      type: webhook
      url: https://hooks.example.com/cutover
      secret: { env: HOOK_KEY }
      events: [started, awaiting-approval, rolled-back, failed, succeeded]
`;
const OWN = `sinks:
  - name: orders-slack
    type: slack
    url: { env: ORDERS_SLACK_URL }
    events: [awaiting-approval, analysis-failed, point-of-no-return-passed]
`;
const KEY = 'k'.repeat(32);

test('sinks for every target and a target its own: an upgrade subscribes to both, another target to the global ones only', () => {
  const f = readConfigFile(file(GLOBAL, OWN));
  expect(subscriptionsFor(f, 'orders-mqtt')).toEqual([
    { sink: 'ops-webhook', events: ['started', 'awaiting-approval', 'rolled-back', 'failed', 'succeeded'] },
    { sink: 'orders-slack', events: ['awaiting-approval', 'analysis-failed', 'point-of-no-return-passed'] },
  ]);
  expect(subscriptionsFor(f, 'edge')).toEqual([{ sink: 'ops-webhook', events: ['started', 'awaiting-approval', 'rolled-back', 'failed', 'succeeded'] }]);
  expect(subscriptionsFor(readConfigFile(file('')), 'edge')).toEqual([]);
});

const SINK = { name: 'ops-webhook', type: 'webhook', url: 'https://hooks.example.com/cutover', secret: { env: 'HOOK_KEY' }, events: ['started'] };

test.each([
  ['an unknown event', { events: ['started', 'deployed'] }, 'notifications.sinks[0].events[1]: must be one of started, awaiting-approval, analysis-failed, rolled-back, failed, succeeded, point-of-no-return-passed'],
  ['no event', { events: [] }, 'notifications.sinks[0].events: must'],
  ['an unknown type', { type: 'teams' }, 'notifications.sinks[0].type: must be one of webhook, slack'],
  ['a URL that is not one', { url: 'hooks.example.com/cutover' }, "notifications.sinks[0].url: 'hooks.example.com/cutover' is not a URL"],
  ['a URL of another scheme', { url: 'ftp://hooks.example.com/x' }, "notifications.sinks[0].url: 'ftp://hooks.example.com/x' is not an http or https URL"],
  ['credentials in the URL', { url: 'https://me:pw@hooks.example.com/x' }, 'notifications.sinks[0].url: holds credentials: name the variable that holds the whole URL instead ({ env: VARIABLE })'],
  ['a webhook without its key', { secret: undefined }, 'notifications.sinks[0].secret: is required for a webhook'],
  ['an unknown field', { retries: 5 }, 'notifications.sinks[0].retries: is not a known property'],
])('%s is refused at load, naming the field', (_what, change, message) => {
  const sink = JSON.stringify({ ...SINK, ...change });
  expect(errorOf(() => readConfigFile(file(`notifications: { sinks: [${sink}] }`)))).toContain(message);
});

test("a sink's name is unique across the file", () => {
  const twice = OWN.replace('orders-slack', 'ops-webhook');
  expect(errorOf(() => readConfigFile(file(GLOBAL, twice)))).toContain("targets[0].notifications.sinks[0].name: 'ops-webhook' is already the name of notifications.sinks[0]");
});

describe('the worker reads the URLs and keys the file names from its environment', () => {
  const env = (more: NodeJS.ProcessEnv) => ({ CUTOVER_CONFIG: file(GLOBAL, OWN), ...more });

  test('set and usable: loaded, with the console URL for links', () => {
    const config = loadConfig(env({ HOOK_KEY: KEY, ORDERS_SLACK_URL: 'https://hooks.slack.com/services/T0/B0/x' }));
    expect(config.notifications?.consoleUrl).toBe('https://cutover.example.com');
  });

  test('unset, short or not a URL: the start stops naming each', () => {
    const message = errorOf(() => loadConfig(env({ HOOK_KEY: 'short' })));
    expect(message).toContain('the notification sinks cannot be resolved');
    expect(message).toContain('notifications.sinks[0].secret: HOOK_KEY has 5 bytes: a signing key needs at least 32');
    expect(message).toContain("targets[0].notifications.sinks[0].url: environment variable ORDERS_SLACK_URL is not set: set it to orders-slack's URL");
    expect(errorOf(() => loadConfig(env({ HOOK_KEY: KEY, ORDERS_SLACK_URL: 'slack' })))).toContain("targets[0].notifications.sinks[0].url: ORDERS_SLACK_URL 'slack' is not a URL");
  });

  test('the API alone needs none of them', () => {
    expect(loadConfig(env({}), { worker: false }).targets).toHaveLength(2);
  });

  test("without consoleUrl the embedded default's links go to its API", () => {
    const config = loadConfig({ CUTOVER_CONFIG: file(GLOBAL.replace(/ {2}consoleUrl:.*\n/, '')), HOOK_KEY: KEY, CUTOVER_API_PORT: '9999' });
    expect(config.notifications?.consoleUrl).toBe('http://127.0.0.1:9999');
  });
});
