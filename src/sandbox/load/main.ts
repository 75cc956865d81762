/**
 * npm run load:mqtt -- --clients N --rate R --url mqtt://127.0.0.1:PORT --duration S --out FILE
 *   [--url ...]            more brokers: clients start on the first and move down the list at each reconnect
 *   [--api http://127.0.0.1:Q]...   EMQX REST API(s) for connected clients per node
 *   [--api-key K --api-secret S]    else EMQX_API_KEY / EMQX_API_SECRET, else the sandbox's
 *   [--drain S] [--prefix ID] [--reconnect-ms MS]
 *
 * Prints one line per second, then the summary; FILE gets one JSON line per
 * second (lost filled in once the run has drained) and the summary as the last line.
 * Talks only to 127.0.0.1 and stops by itself after --duration plus --drain.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SANDBOX_API_KEY, SANDBOX_API_SECRET } from '../emqx/launcher';
import { runMqttLoad } from './mqttLoad';

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number, got '${v ?? ''}'`);
  return n;
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      clients: { type: 'string' },
      rate: { type: 'string' },
      url: { type: 'string', multiple: true },
      api: { type: 'string', multiple: true },
      'api-key': { type: 'string' },
      'api-secret': { type: 'string' },
      duration: { type: 'string' },
      drain: { type: 'string', default: '10' },
      out: { type: 'string' },
      prefix: { type: 'string', default: 'load' },
      'reconnect-ms': { type: 'string', default: '500' },
    },
    strict: true,
  });
  if (!a.url?.length) throw new Error('--url mqtt://127.0.0.1:PORT is required');
  if (!a.out) throw new Error('--out FILE is required');
  const result = await runMqttLoad({
    clients: positive('clients', a.clients),
    rate: positive('rate', a.rate),
    urls: a.url,
    durationSec: positive('duration', a.duration),
    drainSec: Number(a.drain),
    apiUrls: a.api,
    apiKey: a['api-key'] ?? process.env.EMQX_API_KEY ?? SANDBOX_API_KEY,
    apiSecret: a['api-secret'] ?? process.env.EMQX_API_SECRET ?? SANDBOX_API_SECRET,
    clientPrefix: a.prefix,
    reconnectPeriodMs: positive('reconnect-ms', a['reconnect-ms']),
    onSample: (s) => {
      const nodes = s.nodes ? Object.entries(s.nodes).map(([n, c]) => `${n}=${c}`).join(' ') : 'nodes: no API';
      console.log(`t=${s.t}s connected=${s.connected} ${nodes} sent=${s.sent} received=${s.received} duplicated=${s.duplicated}`);
    },
  });
  writeFileSync(a.out, [...result.samples, { summary: result.summary }].map((l) => JSON.stringify(l)).join('\n') + '\n');
  const s = result.summary;
  console.log(
    `summary: ${s.durationSec}s, ${s.clients} clients at ${s.rate}/s: sent ${s.sent}, received ${s.received}, lost ${s.lost}, ` +
      `duplicated ${s.duplicated}, min connected ${s.minConnected} (${(s.minConnectedRatio * 100).toFixed(1)}%), ` +
      `longest away ${s.maxAwayMs} ms (${s.awayOver2s} outages over 2 s); written to ${a.out}`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`load:mqtt: ${(err as Error).message}`);
    process.exit(1);
  },
);
