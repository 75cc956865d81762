/**
 * Starts sandbox EMQX clusters for tests and `npm start`: a backplane, then
 * one OS process per node (./node.ts), each waited for until it answers.
 */
import type { ChildProcess } from 'node:child_process';
import type { EmqxEdition } from '../../domain/emqx/versions';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../runtime/freePort';
import { startSandboxProcess } from '../process';
import { startBackplane, type Backplane } from './backplane';

export const SANDBOX_API_KEY = 'sandbox-key';
export const SANDBOX_API_SECRET = 'sandbox-secret';

const NODE_SCRIPT = join(__dirname, 'node.ts');

export interface NodeSpec {
  name: string;
  version?: string;
  /** Enterprise (default) or Opensource, which has no node evacuation before 5.9. */
  edition?: EmqxEdition;
  role?: 'core' | 'replicant';
  /** Ports on 127.0.0.1; free ones are picked when omitted. */
  mqttPort?: number;
  apiPort?: number;
}

export interface SandboxNode {
  name: string;
  version: string;
  mqttPort: number;
  apiPort: number;
  mqttUrl: string;
  apiUrl: string;
  process: ChildProcess;
  /** SIGTERM (a clean stop) and wait for the exit; SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

export interface SandboxCluster {
  name: string;
  backplane: Backplane;
  nodes: SandboxNode[];
  apiKey: string;
  apiSecret: string;
  /** Starts a node that joins this cluster (e.g. a green node of a newer version). */
  addNode(spec: NodeSpec): Promise<SandboxNode>;
  node(name: string): SandboxNode;
  /** Stops every node, then the backplane. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  name?: string;
  nodes: NodeSpec[];
  /** Backplane files and node logs go here. */
  dir: string;
  backplanePort?: number;
  apiKey?: string;
  apiSecret?: string;
  startTimeoutMs?: number;
}

async function startNode(
  cluster: { name: string; backplane: string; dir: string; apiKey: string; apiSecret: string; startTimeoutMs: number },
  spec: NodeSpec,
): Promise<SandboxNode> {
  const mqttPort = spec.mqttPort ?? (await freePort());
  const apiPort = spec.apiPort ?? (await freePort());
  const version = spec.version ?? '5.7.0';
  const args = ['--name', spec.name, '--cluster', cluster.name, '--version', version, '--edition', spec.edition ?? 'Enterprise', '--role', spec.role ?? 'core'];
  args.push('--mqtt-port', String(mqttPort), '--api-port', String(apiPort), '--backplane', cluster.backplane);
  const node = await startSandboxProcess({
    label: `sandbox EMQX node ${spec.name}`,
    script: NODE_SCRIPT,
    args,
    env: { EMQX_API_KEY: cluster.apiKey, EMQX_API_SECRET: cluster.apiSecret },
    logFile: join(cluster.dir, `${spec.name.replace(/[^\w.@-]/g, '_')}.log`),
    startTimeoutMs: cluster.startTimeoutMs,
  });
  return {
    name: spec.name,
    version,
    mqttPort,
    apiPort,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    process: node.process,
    stop: node.stop,
    kill: node.kill,
  };
}

/** A backplane and the given nodes, started side by side. */
export async function startSandboxCluster(o: ClusterOptions): Promise<SandboxCluster> {
  mkdirSync(o.dir, { recursive: true });
  const backplane = await startBackplane({ port: o.backplanePort ?? (await freePort()), dir: join(o.dir, 'backplane') });
  const ctx = {
    name: o.name ?? 'sandbox-emqx',
    backplane: backplane.url,
    dir: o.dir,
    apiKey: o.apiKey ?? SANDBOX_API_KEY,
    apiSecret: o.apiSecret ?? SANDBOX_API_SECRET,
    startTimeoutMs: o.startTimeoutMs ?? 30_000,
  };
  const nodes: SandboxNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    await backplane.stop();
  };
  const addNode = async (spec: NodeSpec): Promise<SandboxNode> => {
    const n = await startNode(ctx, spec);
    nodes.push(n);
    return n;
  };
  const started = await Promise.allSettled(o.nodes.map(addNode));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  // In the order given, not the order they came up.
  nodes.sort((a, b) => o.nodes.findIndex((s) => s.name === a.name) - o.nodes.findIndex((s) => s.name === b.name));
  return {
    name: ctx.name,
    backplane,
    nodes,
    apiKey: ctx.apiKey,
    apiSecret: ctx.apiSecret,
    addNode,
    node: (name) => {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`sandbox cluster ${ctx.name} has no node ${name}`);
      return n;
    },
    stop,
  };
}
