/**
 * The test kubelet for the sandbox projection service on Kubernetes: each
 * Running pod the selector picks gets a release process of its image's
 * version at its pod IP on its container's `query` port, as the service would
 * run from the pod's environment: its release from CUTOVER_RELEASE (which
 * cutover sets on green), its target, event store, the PostgreSQL of the
 * releases' databases, the role password secret and cutover's API (secrets
 * resolved from the pod's Secret references).
 */
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { imageTag, RELEASE_ENV } from '../../src/domain/kubernetes';
import { startReleaseService } from '../../src/sandbox/projection/release';
import type { SandboxProcess } from '../../src/sandbox/process';
import { PodKubelet } from './podKubelet';

export interface ReleaseProcess extends SandboxProcess {
  release: string;
  /** Its query endpoint, at the pod's IP. */
  url: string;
}

export class ProjectionKubelet extends PodKubelet<ReleaseProcess> {
  constructor(kc: KubeConfig, namespace: string, labelSelector: string, logDir: string) {
    super(kc, namespace, labelSelector, async (pod, env) => {
      const container = pod.spec!.containers[0];
      const need = (name: string): string => {
        if (!env[name]) throw new Error(`pod ${pod.metadata!.name}: ${name} is not set`);
        return env[name];
      };
      const release = need(RELEASE_ENV);
      const host = pod.status!.podIP!;
      const port = container.ports!.find((p) => p.name === 'query')!.containerPort;
      const node = await startReleaseService({
        target: need('PROJECTION_TARGET'),
        release,
        version: imageTag(container.image!),
        host,
        port,
        eventStoreUrl: need('PROJECTION_EVENT_STORE_URL'),
        databases: { host: need('PROJECTION_DATABASES_HOST'), port: Number(need('PROJECTION_DATABASES_PORT')) },
        rolePasswordSecret: need('PROJECTION_ROLE_PASSWORD_SECRET'),
        api: { url: need('CUTOVER_API_URL'), token: need('CUTOVER_SERVICE_TOKEN') },
        handlerCostUs: Number(env.PROJECTION_HANDLER_COST_US ?? 0),
        logFile: join(logDir, `${pod.metadata!.name}.log`),
      });
      return { ...node, release, url: `http://${host}:${port}` };
    });
  }
}
