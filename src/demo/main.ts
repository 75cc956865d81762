/**
 * npm run demo [-- --clients 1000 --rollback-at drainBlue --rollback-delay 20]
 *   against a running `npm start`: N MQTT clients through the sandbox's nginx,
 *   an upgrade of sandbox-emqx through the API, one line per change, a summary,
 *   and .data/demo/<timestamp>/{samples.jsonl,summary.json,connections.svg}.
 * npm run demo -- --target sandbox-kong [--http-rate 200] [--fail-rate 20]
 *   the same for a Kong target: HTTP load through nginx, requests per second
 *   per version from the gateways' counters, requests.svg (see ./kongDemo);
 *   --fail-rate makes the new version fail that share, so it rolls back by itself.
 * npm run demo -- --target sandbox-projection [--query-rate 50]
 *   for an event-sourced target: queries through nginx, every answer checked,
 *   lag, rate and ETA per line while green builds, catch-up.svg (see ./projectionDemo).
 * Every address and token can be changed by a flag or its variable (see --help).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../runtime/binaries';
import { SANDBOX_API_KEY, SANDBOX_API_SECRET } from '../sandbox/emqx/launcher';
import { demoApi } from './api';
import { runEmqxDemo } from './emqxDemo';
import { runKongDemo } from './kongDemo';
import { runProjectionDemo } from './projectionDemo';

const FLAGS = {
  clients: ['CUTOVER_DEMO_CLIENTS', '1000'],
  rate: ['CUTOVER_DEMO_RATE', '100'],
  api: ['CUTOVER_API_URL', 'http://127.0.0.1:8080'],
  'operator-token': ['CUTOVER_OPERATOR_TOKEN', 'dev-operator-token-change-me'],
  'viewer-token': ['CUTOVER_VIEWER_TOKEN', 'dev-viewer-token-change-me'],
  'approver-token': ['CUTOVER_APPROVER_TOKEN', 'dev-approver-token-change-me'],
  target: ['CUTOVER_DEMO_TARGET', 'sandbox-emqx'],
  mqtt: ['CUTOVER_DEMO_MQTT_URL', 'mqtt://127.0.0.1:21883'],
  'emqx-api': ['CUTOVER_DEMO_EMQX_API_URL', 'http://127.0.0.1:28083'],
  'emqx-key': ['SANDBOX_EMQX_API_KEY', SANDBOX_API_KEY],
  'emqx-secret': ['SANDBOX_EMQX_API_SECRET', SANDBOX_API_SECRET],
  version: ['CUTOVER_DEMO_VERSION', '5.8.0'],
  // Empty: 1% of the clients per second, so at most ~1% are reconnecting at once.
  'conn-evict-rate': ['CUTOVER_DEMO_CONN_EVICT_RATE', ''],
  'sess-evict-rate': ['CUTOVER_DEMO_SESS_EVICT_RATE', ''],
  'reconnect-ms': ['CUTOVER_DEMO_RECONNECT_MS', '100'],
  'rollback-at': ['CUTOVER_DEMO_ROLLBACK_AT', ''],
  'rollback-delay': ['CUTOVER_DEMO_ROLLBACK_DELAY_SEC', '0'],
  // Kong targets
  proxy: ['CUTOVER_DEMO_PROXY_URL', 'http://127.0.0.1:28000'],
  'http-rate': ['CUTOVER_DEMO_HTTP_RATE', '200'],
  connections: ['CUTOVER_DEMO_CONNECTIONS', '20'],
  'kong-state': ['CUTOVER_DEMO_KONG_STATE', join(projectRoot, '.data', 'sandbox', 'sandbox-kong', 'state.json')],
  'kong-version': ['CUTOVER_DEMO_KONG_VERSION', '3.9.0'],
  // Empty: the new version fails nothing. 20: its gateways answer 20% of requests with 500.
  'fail-rate': ['CUTOVER_DEMO_FAIL_RATE', ''],
  // Projection targets
  query: ['CUTOVER_DEMO_QUERY_URL', 'http://127.0.0.1:28092'],
  'query-rate': ['CUTOVER_DEMO_QUERY_RATE', '50'],
  'projection-version': ['CUTOVER_DEMO_PROJECTION_VERSION', '2.0.0'],
  'standby-window': ['CUTOVER_DEMO_STANDBY_WINDOW', '10s'],
  poll: ['CUTOVER_DEMO_POLL', '1s'],
  out: ['CUTOVER_DEMO_OUT', join(projectRoot, '.data', 'demo')],
  timeout: ['CUTOVER_DEMO_TIMEOUT_SEC', '900'],
} as const;
type Flag = keyof typeof FLAGS;

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number, got '${v}'`);
  return n;
}

function percent(name: string, v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 100)) throw new Error(`--${name} is a percentage of requests above 0 and at most 100, e.g. --${name} 20; got '${v}'`);
  return n;
}

/** What every demo takes alike: cutover's API and who acts on it, the target, where its files go, how long it may take, where its lines go. */
function shared(get: (k: Flag) => string) {
  return {
    apiUrl: get('api'),
    operatorToken: get('operator-token'),
    viewerToken: get('viewer-token'),
    approverToken: get('approver-token'),
    target: get('target'),
    outDir: get('out'),
    timeoutSec: positive('timeout', get('timeout')),
    log: (line: string) => console.log(line),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { ...Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }])), help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    console.log(['npm run demo -- [flags]   (each flag: --name value, else $VARIABLE, else the default)', ...Object.entries(FLAGS).map(([k, [env, d]]) => `  --${k}  $${env}  default: ${d || '(see source)'}`)].join('\n'));
    return;
  }
  const given = values as Partial<Record<Flag, string>>;
  const get = (k: Flag): string => given[k] ?? process.env[FLAGS[k][0]] ?? FLAGS[k][1];
  const targets = await demoApi(get('api'))<{ targets: { name: string; kind: string }[] }>('GET', '/v1/targets', get('viewer-token'));
  const kind = targets.targets.find((t) => t.name === get('target'))?.kind;
  if (kind === 'kong') return kong(get);
  if (kind === 'projection') return projection(get);
  const clients = Math.round(positive('clients', get('clients')));
  const connEvictRate = Math.round(positive('conn-evict-rate', get('conn-evict-rate') || String(Math.max(1, Math.round(clients / 100)))));
  const { summary: s, dir } = await runEmqxDemo({
    ...shared(get),
    mqttUrl: get('mqtt'),
    emqxApiUrl: get('emqx-api'),
    emqxApiKey: get('emqx-key'),
    emqxApiSecret: get('emqx-secret'),
    clients,
    rate: positive('rate', get('rate')),
    version: get('version'),
    connEvictRate,
    sessEvictRate: Math.round(positive('sess-evict-rate', get('sess-evict-rate') || String(connEvictRate))),
    reconnectMs: positive('reconnect-ms', get('reconnect-ms')),
    rollbackAt: get('rollback-at') || undefined,
    rollbackDelaySec: Number(get('rollback-delay')),
  });
  const measured = s.evictions.map((e) => `${e.node} ${e.rate}/s (${e.evicted} in ${e.seconds}s)`).join(', ') || 'no node emptied over more than one batch';
  console.log(
    [
      '',
      `summary: ${s.status} to ${s.version} in ${s.durationSec}s`,
      `  min connected: ${s.minConnected} of ${s.clients} (${s.minConnectedPct}%)`,
      `  QoS 1 messages: sent ${s.sent}, received ${s.received}, lost ${s.lost}, duplicated ${s.duplicated}`,
      `  connection eviction: requested ${s.requestedConnEvictRate}/s, measured ${s.measuredConnEvictRate ?? '-'}/s: ${measured}`,
      `  written to ${dir}/ (samples.jsonl, summary.json, connections.svg)`,
    ].join('\n'),
  );
}

async function kong(get: (k: Flag) => string): Promise<void> {
  const { summary: s, dir } = await runKongDemo({
    ...shared(get),
    proxyUrl: get('proxy'),
    stateFile: get('kong-state'),
    rate: positive('http-rate', get('http-rate')),
    connections: Math.round(positive('connections', get('connections'))),
    version: get('kong-version'),
    failRate: get('fail-rate') ? percent('fail-rate', get('fail-rate')) / 100 : undefined,
  });
  const split = Object.entries(s.byVersion).map(([v, c]) => `${v} ${c.requests} (${c.pct}%, ${c.errors} 5xx)`).join(', ');
  const retried = Object.values(s.load.retried).reduce((a, b) => a + b, 0);
  const retriedAt = s.load.events.filter((e) => e.what === 'retried').map((e) => e.t.toFixed(1));
  console.log(
    [
      '',
      `summary: ${s.status} to ${s.version} in ${s.durationSec}s`,
      `  requests: ${s.load.requests} at ${s.load.requestsPerSec.toFixed(1)}/s, failed ${s.load.failed} (answers ${JSON.stringify(s.load.byStatus)}, no answer ${JSON.stringify(s.load.errors)}), p99 ${s.load.latencyP99Ms} ms`,
      `  retried once, the connection having closed before any answer: ${retried}${retried ? ` ${JSON.stringify(s.load.retried)} at t=${retriedAt.join(', ')} s` : ''}`,
      `  counted by the gateways per version: ${split}`,
      `  ${s.version}'s share while each traffic step held, from the gateways' counters: ${s.steps.map((p) => `${p.weight}% step: ${p.greenPct}% of ${p.requests}`).join(', ') || '-'}`,
      `  answered, by the Via header: ${Object.entries(s.load.byVia).map(([via, c]) => `${via} ${c.answers} (${c.failed} failed)`).join(', ')}; failed outside ${s.version}: ${s.load.failed - (s.load.byVia[`1.1 kong/${s.version}`]?.failed ?? 0)}`,
      `  at the end: traffic blue ${s.end.traffic.blue}% green ${s.end.traffic.green}%; ${s.end.releases.join(', ')}; running: ${s.end.running.join(', ')}`,
      `  migrations: ${s.end.migrations.join(', ') || 'no command ran'}${s.end.failure ? `\n  failure: ${s.end.failure}` : ''}`,
      `  written to ${dir}/ (samples.jsonl, summary.json, requests.svg)`,
    ].join('\n'),
  );
}

async function projection(get: (k: Flag) => string): Promise<void> {
  const { summary: s, dir } = await runProjectionDemo({
    ...shared(get),
    queryUrl: get('query'),
    queryRate: positive('query-rate', get('query-rate')),
    version: get('projection-version'),
    standbyWindow: get('standby-window'),
    poll: get('poll'),
  });
  const by = Object.entries(s.queries.byRelease).map(([r, c]) => `${r} ${c.answered} answered, ${c.failed} failed`).join('; ');
  const eta = s.eta
    ? `${s.eta.predictedSec}s predicted at ${s.eta.atPct}% of the way (${s.eta.takenAtSec}s in, ${s.eta.rate} events/s, ${s.eta.appendRate} appended/s), ${s.eta.actualSec}s actual: ${s.eta.errorPct > 0 ? '+' : ''}${s.eta.errorPct}%`
    : 'not measured (the upgrade did not build green from before 10% of the way to caught up)';
  const dropped = s.blueDropped
    ? `${s.blueDropped.afterStandbySec}s after blue stood by (window ${s.blueDropped.windowSec}s), between ${s.blueDropped.droppedBetween.join(' and ')}`
    : 'not dropped';
  console.log(
    [
      '',
      `summary: ${s.status} to ${s.version} in ${s.durationSec}s over ${s.head ?? '?'} events`,
      `  queries: ${s.queries.queries}, failed ${s.queries.failed}: ${by}`,
      ...s.queries.firstFailures.slice(0, 5).map((f) => `    failed at ${new Date(f.at).toISOString()} (${f.release}): ${f.reason}`),
      `  ETA at 10% of the way: ${eta}`,
      `  blue's database dropped: ${dropped}`,
      `  written to ${dir}/ (samples.jsonl, summary.json, catch-up.svg)`,
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`demo: ${(err as Error).message}`);
    process.exit(1);
  },
);
