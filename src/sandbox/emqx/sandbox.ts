/**
 * The EMQX kind in the local sandbox: sandbox EMQX nodes on one backplane
 * (one cluster across releases, so green nodes join blue's cluster), behind
 * nginx configured as EMQX's "Load Balance EMQX Cluster with NGINX" guide
 * does: a stream upstream for MQTT over TCP (proxy_timeout, tcp_nodelay) of
 * the serving nodes, and an http upstream of every running node's REST API
 * (what the worker uses, so it survives node removal).
 */
import type { EmqxAccess } from '../../domain/emqx/schema';
import { emqxNodeName } from '../../domain/emqx/cluster';
import type { LocalPlacement } from '../../config/targets';
import type { Routing, SandboxKind } from '../localSandbox';
import { SANDBOX_API_KEY, SANDBOX_API_SECRET, startSandboxCluster, type SandboxCluster } from './launcher';

export interface EmqxSandboxOptions {
  placement: LocalPlacement;
  access: EmqxAccess;
  /** The worker's environment: the API credentials are read from (or, unset, put into) the access block's variables. */
  env: NodeJS.ProcessEnv;
}

export function emqxSandbox(o: EmqxSandboxOptions): SandboxKind {
  // Unset credentials: the sandbox's published ones, put where the EMQX activities read them.
  o.env[o.access.apiKey.env] ||= SANDBOX_API_KEY;
  o.env[o.access.apiSecret.env] ||= SANDBOX_API_SECRET;
  const { ports, cluster: name } = o.placement;
  let cluster: SandboxCluster | undefined;
  const running = (): SandboxCluster => {
    if (!cluster) throw new Error(`sandbox EMQX cluster ${name} is not running`);
    return cluster;
  };
  return {
    imageOf: (version) => `cutover/sandbox-emqx:${version}`,
    nodePorts: ['mqtt', 'api'],
    // connections and messages per node, where EMQX serves them: its REST API listener
    metrics: { port: 'api', path: '/api/v5/prometheus/stats' },
    async start(dir) {
      cluster ??= await startSandboxCluster({ name, nodes: [], dir, apiKey: o.env[o.access.apiKey.env], apiSecret: o.env[o.access.apiSecret.env] });
    },
    async stop() {
      await cluster?.stop();
      cluster = undefined;
    },
    startNode: (spec) => {
      // Sandbox nodes run on loopback: their names come from the pod name alone.
      const name = emqxNodeName(o.access.nodeName ?? 'emqx@{pod}', { name: spec.pod });
      if (!name) throw new Error(`sandbox EMQX node names cannot use {podIP} (nodeName ${o.access.nodeName}): sandbox nodes have no pod IP`);
      return running().addNode({ name, version: spec.version, mqttPort: spec.ports.mqtt, apiPort: spec.ports.api });
    },
    // Round robin: every client comes from 127.0.0.1 here, so the guide's hash $remote_addr would pick one node.
    traffic: { name: 'emqx_mqtt', port: 'mqtt' },
    routes: (r: Routing) => ({
      streams: [
        {
          name: 'emqx_mqtt',
          listen: ports.mqtt,
          // Longer than any MQTT keepalive, so idle clients are not cut off.
          directives: ['proxy_connect_timeout 5s;', 'proxy_timeout 1800s;', 'tcp_nodelay on;'],
        },
      ],
      http: [
        {
          name: 'emqx_api',
          listen: ports.api,
          servers: r.all.map((n) => ({ port: n.ports.api })),
          serverOptions: 'max_fails=1 fail_timeout=5s',
          // A stopped node refuses the connection: the request goes to the next node.
          directives: ['proxy_next_upstream error timeout;', 'proxy_connect_timeout 2s;'],
        },
      ],
    }),
    describe: () => `MQTT mqtt://127.0.0.1:${ports.mqtt}, EMQX API http://127.0.0.1:${ports.api} (through nginx), nginx status http://127.0.0.1:${ports.status}/status`,
  };
}
