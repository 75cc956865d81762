/**
 * Runs ONE sandbox EMQX node as its own process: an MQTT 3.1.1 broker (aedes)
 * and the EMQX REST API v5 subset cutover uses, joined to a cluster through
 * the cluster's Redis backplane (start one with startBackplane in ./backplane
 * or startSandboxCluster in ./launcher).
 *
 *   tsx src/sandbox/emqx/node.ts --name emqx@node1 --cluster sandbox-emqx --version 5.7.0 \
 *     --mqtt-port 21883 --api-port 28083 --backplane redis://127.0.0.1:26379 \
 *     [--role core|replicant] [--edition Enterprise|Opensource] [--api-key K --api-secret S]
 *
 * --name        EMQX node name, name@host (required)
 * --cluster     cluster name reported by GET /api/v5/cluster (default sandbox-emqx)
 * --version     EMQX version this node reports and answers as (default 5.7.0; 5.1.0 to 5.10.x): 5.8.0 nodes may join a 5.7.0 cluster
 * --edition     Enterprise (default) or Opensource: before 5.9 the open source edition has no node evacuation
 * --role        core (default) or replicant
 * --mqtt-port   MQTT listener on 127.0.0.1 (required)
 * --api-port    REST API (dashboard listener) on 127.0.0.1 (required)
 * --backplane   redis:// URL of the cluster's backplane on loopback (required); nodes on
 *               one backplane are one cluster, so joining is starting with it
 * --api-key / --api-secret   HTTP Basic credentials; else EMQX_API_KEY / EMQX_API_SECRET,
 *               else sandbox-key / sandbox-secret
 *
 * Prints one JSON line {"ready":true,...} on stdout once both listeners are up.
 * SIGTERM / SIGINT stop it cleanly: listed as stopped at once (as EMQX lists a
 * stopped node until force_leave); after SIGKILL it is listed as stopped
 * within three seconds.
 */
import { parseArgs } from 'node:util';
import { versionProblem } from '../../domain/emqx/versions';
import { EmqxApi } from './api';
import { SandboxBroker } from './broker';
import { SANDBOX_API_KEY, SANDBOX_API_SECRET } from './launcher';

function port(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new Error(`--${name} must be a TCP port, got '${v ?? ''}'`);
  return n;
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      name: { type: 'string' },
      cluster: { type: 'string', default: 'sandbox-emqx' },
      version: { type: 'string', default: '5.7.0' },
      role: { type: 'string', default: 'core' },
      edition: { type: 'string', default: 'Enterprise' },
      'mqtt-port': { type: 'string' },
      'api-port': { type: 'string' },
      backplane: { type: 'string' },
      'api-key': { type: 'string' },
      'api-secret': { type: 'string' },
    },
    strict: true,
  });
  if (!a.name || !/^[^@\s]+@\S+$/.test(a.name)) throw new Error('--name must be an EMQX node name such as emqx@node1');
  if (a.role !== 'core' && a.role !== 'replicant') throw new Error('--role must be core or replicant');
  if (a.edition !== 'Enterprise' && a.edition !== 'Opensource') throw new Error('--edition must be Enterprise or Opensource');
  const unsupported = versionProblem(a.version);
  if (unsupported) throw new Error(`--version: ${unsupported}`);
  const release = { version: a.version, edition: a.edition } as const;
  if (!a.backplane || !/^redis:\/\/(127\.0\.0\.1|localhost):\d+\/?$/.test(a.backplane)) {
    throw new Error('--backplane must be the loopback redis:// URL of the cluster, e.g. redis://127.0.0.1:26379');
  }
  const mqttPort = port('mqtt-port', a['mqtt-port']);
  const apiPort = port('api-port', a['api-port']);

  const broker = new SandboxBroker({
    mqttPort,
    backplaneUrl: a.backplane,
    member: {
      node: a.name,
      version: a.version,
      role: a.role,
      edition: release.edition,
      startedAt: Date.now(),
      apiUrl: `http://127.0.0.1:${apiPort}`,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    },
  });
  const api = new EmqxApi({
    broker,
    cluster: a.cluster,
    release,
    apiKey: a['api-key'] ?? process.env.EMQX_API_KEY ?? SANDBOX_API_KEY,
    apiSecret: a['api-secret'] ?? process.env.EMQX_API_SECRET ?? SANDBOX_API_SECRET,
  });
  await broker.start();
  await api.listen(apiPort);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void Promise.all([api.close(), broker.stop()]).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ ready: true, node: a.name, version: a.version, mqtt: mqttPort, api: apiPort })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox emqx node: ${(err as Error).message}\n`);
  process.exit(1);
});
