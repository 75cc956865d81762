/**
 * A projection target as a user runs it on the suite's control plane: blue a
 * Deployment of one pod on the loopback node (CUTOVER_RELEASE set to its
 * workload's name, its database made by the user), the target's Service on
 * it, and a test kubelet that runs the sandbox projection service at each of
 * the target's pods' IPs, on a real PostgreSQL event store.
 */
import { join } from 'node:path';
import { withClient } from '../../src/activities/pg';
import { ensureReleaseDatabase } from '../../src/activities/projection/releaseDatabase';
import type { TargetConfig } from '../../src/config/targets';
import { RELEASE_ENV } from '../../src/domain/kubernetes';
import { releaseDatabaseName } from '../../src/domain/projection/naming';
import { freePort } from '../../src/runtime/freePort';
import type { PostgresServer } from '../../src/sandbox/postgres';
import { createAxonSchema, seedOrders } from '../../src/sandbox/projection/axonStore';
import { serviceToken } from '../api/harness';
import { startPostgres } from './kongDatabase';
import type { TestNamespace } from './kube';
import { ON_LOOPBACK_NODE } from './kubeControlPlane';
import { ProjectionKubelet } from './projectionKubelet';

export const STORE_DB = 'eventstore';
export const ROLE_SECRET = 'role-password-secret-for-tests';
/** The worker's secrets of every such target: the store, the releases' PostgreSQL, the role password secret. */
export const projectionSecrets = (pg: PostgresServer): NodeJS.ProcessEnv => ({ STORE: pg.url(STORE_DB), DBS: pg.url(), ROLES: ROLE_SECRET });

export interface ProjectionBlue {
  target: string;
  /** The app label of the target's pods (its Service selects by it). */
  app: string;
  /** Blue's Deployment, the target's configured workload. */
  blue: string;
  /** The target's Service. */
  service: string;
}

export function projectionTarget(namespace: string, b: ProjectionBlue): TargetConfig {
  return {
    name: b.target,
    kind: 'projection',
    kubernetes: { namespace, workload: { kind: 'Deployment', name: b.blue }, service: b.service },
    projection: { catchUp: { preset: 'axon', naming: 'jdbc' }, eventStoreUrl: { env: 'STORE' }, databasesUrl: { env: 'DBS' }, rolePasswordSecret: { env: 'ROLES' } },
  };
}

/** A PostgreSQL (the event store and the releases' databases) whose Axon store holds `seed` events; dir: remove it at the end. */
export async function startProjectionStore(seed: number): Promise<{ pg: PostgresServer; dir: string }> {
  const started = await startPostgres();
  await started.pg.ensureDatabase(STORE_DB);
  await withClient(started.pg.url(STORE_DB), async (c) => {
    await createAxonSchema(c, { naming: 'jdbc', tokenStorage: 'bytea' });
    await seedOrders(c, 'jdbc', seed);
  });
  return started;
}

/** Blue's database, Secret, Deployment and Service, and the kubelet of the target's pods (started; the caller stops it). */
export async function deployProjectionBlue(ns: TestNamespace, pg: PostgresServer, b: ProjectionBlue, o: { apiPort: number; logDir: string }): Promise<ProjectionKubelet> {
  const namespace = ns.name;
  const labels = { app: b.app };
  await withClient(pg.url(), (c) => ensureReleaseDatabase(c, releaseDatabaseName(b.blue), ROLE_SECRET));
  await ns.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: b.target }, stringData: { eventStoreUrl: pg.url(STORE_DB), rolePasswordSecret: ROLE_SECRET, cutoverToken: serviceToken(b.target) } },
  });
  const secret = (key: string) => ({ valueFrom: { secretKeyRef: { name: b.target, key } } });
  await ns.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: b.blue, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            ...ON_LOOPBACK_NODE,
            containers: [
              {
                name: 'service',
                image: 'cutover/sandbox-projection:1.4.0',
                ports: [{ name: 'query', containerPort: await freePort() }],
                env: [
                  { name: RELEASE_ENV, value: b.blue },
                  { name: 'PROJECTION_TARGET', value: b.target },
                  { name: 'PROJECTION_EVENT_STORE_URL', ...secret('eventStoreUrl') },
                  { name: 'PROJECTION_DATABASES_HOST', value: '127.0.0.1' },
                  { name: 'PROJECTION_DATABASES_PORT', value: String(pg.port) },
                  { name: 'PROJECTION_ROLE_PASSWORD_SECRET', ...secret('rolePasswordSecret') },
                  { name: 'CUTOVER_API_URL', value: `http://127.0.0.1:${o.apiPort}` },
                  { name: 'CUTOVER_SERVICE_TOKEN', ...secret('cutoverToken') },
                  // handlers that cost time, as a real service's do: a replay of the store takes about 2 s
                  { name: 'PROJECTION_HANDLER_COST_US', value: '100' },
                ],
              },
            ],
          },
        },
      },
    },
  });
  await ns.core.createNamespacedService({ namespace, body: { metadata: { name: b.service }, spec: { selector: labels, ports: [{ name: 'query', port: 80, targetPort: 'query' }] } } });
  return new ProjectionKubelet(ns.kubeConfig(), namespace, `app=${b.app}`, join(o.logDir, b.target)).start();
}

/** What a release's process at its pod IP says of itself. */
export async function releaseStatus(kubelet: ProjectionKubelet, release: string) {
  const p = (await kubelet.running()).find((n) => n.node.release === release);
  return p && ((await (await fetch(`${p.node.url}/status`)).json()) as { release: string; phase: string; position: number; head: number });
}
