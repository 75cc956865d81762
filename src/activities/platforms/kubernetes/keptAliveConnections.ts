/**
 * @kubernetes/client-node 2.0.1 builds a new undici Agent for every request
 * to a cluster with TLS options (a CA, a client certificate, skipTLSVerify):
 * a new connection and TLS handshake each time, about 4 times the time of a
 * request on a kept-alive connection (8.2 against 1.9 ms p50 on the test
 * control plane). Traffic moves a few requests after green's last pod turns
 * Ready, so each of them counts: one Agent per set of TLS options instead.
 */
import type { Cluster, KubeConfig } from '@kubernetes/client-node';
import type { AgentOptions } from 'node:https';
import type { Dispatcher } from 'undici';

type CreateDispatcher = (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined;

export function withKeptAliveConnections(kc: KubeConfig): KubeConfig {
  // createDispatcher is private in the typings; it is what every request and watch calls
  const client = kc as unknown as { createDispatcher: CreateDispatcher };
  const create = client.createDispatcher.bind(kc);
  const agents = new Map<string, Dispatcher | undefined>();
  client.createDispatcher = (cluster, agentOptions) => {
    const key = JSON.stringify(kc.createDispatcherOptions(cluster, agentOptions));
    if (!agents.has(key)) agents.set(key, create(cluster, agentOptions));
    return agents.get(key);
  };
  return kc;
}
