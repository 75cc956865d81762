/**
 * One sandbox node's REST API listener: EMQX's REST API v5 as the node's
 * version and edition answer it (./restApi.ts), for the whole cluster, from
 * the backplane.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { EmqxRelease } from '../../domain/emqx/versions';
import type { SandboxBroker } from './broker';
import { EmqxRestApi, type ClusterView, type ViewNode } from './restApi';

export interface ApiOptions {
  broker: SandboxBroker;
  cluster: string;
  release: EmqxRelease;
  apiKey: string;
  apiSecret: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let data = '';
  req.setEncoding('utf8');
  for await (const chunk of req) data += chunk as string;
  return data;
}

/** The cluster on the backplane as this node's API sees it; a stopped replicant is forgotten, as mria does. */
function backplaneView(o: ApiOptions): ClusterView {
  const state = o.broker.state;
  return {
    self: o.broker.node,
    clusterName: o.cluster,
    async nodes(): Promise<ViewNode[]> {
      const members = (await state.members()).filter((m) => m.running || m.role === 'core');
      return Promise.all(
        members.map(async (m) => {
          const c = await state.counts(m.node);
          return { ...m, live: c.live, sessions: c.sessions };
        }),
      );
    },
    known: (node) => state.known(node),
    evacuation: (node) => state.evacuation(node),
    startEvacuation: (node, r) => state.startEvacuation(node, r),
    stopEvacuation: (node) => state.stopEvacuation(node),
    forget: (node) => state.forget(node),
    now: () => Date.now(),
  };
}

export class EmqxApi {
  private readonly server: Server;

  constructor(o: ApiOptions) {
    const { registry } = o.broker.metrics;
    const api = new EmqxRestApi({
      view: backplaneView(o),
      release: o.release,
      apiKey: o.apiKey,
      apiSecret: o.apiSecret,
      prometheus: async () => ({ contentType: registry.contentType, text: await registry.metrics() }),
    });
    this.server = createServer((req, res) => {
      readBody(req)
        .then((raw) => api.handle(req, res, raw))
        .catch((err: unknown) => {
          // The backplane is this cluster's RPC: its failure is EMQX's RPC_ERROR.
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 'RPC_ERROR', message: `RPC error: ${(err as Error).message}` }));
        });
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
