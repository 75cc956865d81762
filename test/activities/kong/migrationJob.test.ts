/** The Kubernetes Job that runs a Kong migrations command: the new image, the command, the database settings with the password from a Secret. */
import { migrationJob } from '../../../src/activities/kong/kubernetes';

test('kong migrations up with the green image, KONG_PG_* settings and the password from the Secret reference; named so a retry finds it', () => {
  const job = migrationJob({
    target: 'edge-gateway',
    namespace: 'kong',
    version: '3.9.0',
    command: 'up',
    access: {
      database: { host: 'kong-postgres.kong', user: 'kong', password: { env: 'EDGE_PG' }, passwordSecret: { name: 'kong-postgres', key: 'password' } },
      image: 'kong/kong-gateway',
    },
  });
  expect(job.metadata).toMatchObject({ name: 'edge-gateway-migrations-up-3-9-0', namespace: 'kong', labels: { 'cutover.io/target': 'edge-gateway' } });
  expect(job.spec).toMatchObject({ backoffLimit: 0, template: { metadata: { labels: { 'app.kubernetes.io/component': 'migrations' } }, spec: { restartPolicy: 'Never' } } });
  const [c] = job.spec!.template.spec!.containers;
  expect(c.image).toBe('kong/kong-gateway:3.9.0');
  expect(c.command).toEqual(['kong', 'migrations', 'up']);
  // a failed container's last log lines stay in its status when the log is gone
  expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  expect(c.env).toEqual([
    { name: 'KONG_DATABASE', value: 'postgres' },
    { name: 'KONG_PG_HOST', value: 'kong-postgres.kong' },
    { name: 'KONG_PG_PORT', value: '5432' },
    { name: 'KONG_PG_DATABASE', value: 'kong' },
    { name: 'KONG_PG_USER', value: 'kong' },
    { name: 'KONG_PG_PASSWORD', valueFrom: { secretKeyRef: { name: 'kong-postgres', key: 'password' } } },
  ]);
  // No password value anywhere in the manifest: only the reference.
  expect(JSON.stringify(job)).not.toMatch(/EDGE_PG/);
  expect(migrationJob({ target: 'edge-gateway', namespace: 'kong', version: '3.9.0', command: 'finish', force: true, access: { database: { host: 'h', user: 'u', password: { env: 'P' } } } }).spec!.template.spec!.containers[0]).toMatchObject({
    image: 'kong/kong-gateway:3.9.0',
    command: ['kong', 'migrations', 'finish', '-f'],
  });
});

test("with blue's pod spec: its Kong container's settings by reference, the database from the config, only the volumes its mounts name and no claim", () => {
  const job = migrationJob({
    target: 'edge-gateway',
    namespace: 'kong',
    version: '3.9.0',
    command: 'status',
    access: { database: { host: 'pg.kong', user: 'kong', password: { env: 'P' } }, image: 'kong/kong-gateway' },
    blue: {
      serviceAccountName: 'kong',
      containers: [
        { name: 'ingress-controller', image: 'kong/kubernetes-ingress-controller:3.4', env: [{ name: 'CONTROLLER_LOG_LEVEL', value: 'info' }] },
        {
          // another repository than the Jobs' (kong:3.8 vs kong/kong-gateway): Kong's chart names the container proxy
          name: 'proxy',
          image: 'kong:3.8',
          env: [
            { name: 'KONG_PG_PASSWORD', value: 'written-in-the-spec' },
            { name: 'KONG_PG_SCHEMA', value: 'edge' },
            { name: 'KONG_MEM_CACHE_SIZE', valueFrom: { resourceFieldRef: { containerName: 'proxy', resource: 'limits.memory' } } },
          ],
          volumeMounts: [
            { name: 'prefix', mountPath: '/kong_prefix' },
            { name: 'data', mountPath: '/data' },
          ],
        },
      ],
      volumes: [
        { name: 'prefix', emptyDir: {} },
        { name: 'data', persistentVolumeClaim: { claimName: 'kong-data' } },
        { name: 'webhook-certs', secret: { secretName: 'webhook' } },
      ],
    },
  });
  const pod = job.spec!.template.spec!;
  expect(pod.serviceAccountName).toBe('kong');
  expect(pod.volumes).toEqual([{ name: 'prefix', emptyDir: {} }]);
  const [c] = pod.containers;
  expect(c.volumeMounts).toEqual([{ name: 'prefix', mountPath: '/kong_prefix' }]);
  expect(c.env).toContainEqual({ name: 'KONG_PG_PASSWORD', valueFrom: { secretKeyRef: { name: 'edge-gateway-kong-database', key: 'password' } } });
  expect(c.env).toContainEqual({ name: 'KONG_PG_SCHEMA', value: 'edge' });
  expect(c.env).toContainEqual({ name: 'KONG_MEM_CACHE_SIZE', valueFrom: { resourceFieldRef: { containerName: 'kong-migrations', resource: 'limits.memory' } } });
  expect(c.env!.map((e) => e.name)).not.toContain('CONTROLLER_LOG_LEVEL');
  expect(JSON.stringify(job)).not.toContain('written-in-the-spec');
});

test('the Job names its owner: the target as a label, the upgrade that runs it as an annotation', () => {
  const job = migrationJob({ target: 'edge-gateway', namespace: 'kong', version: '3.9.0', command: 'up', upgrade: 'edge-gateway.u1', access: { database: { host: 'h', user: 'u', password: { env: 'P' } } } });
  expect(job.metadata).toMatchObject({
    labels: { 'cutover.io/target': 'edge-gateway', 'app.kubernetes.io/managed-by': 'cutover' },
    annotations: { 'cutover.io/upgrade': 'edge-gateway.u1' },
  });
});
