/** docker-compose.yml cannot run here (no Docker engine): check that it parses and agrees with the configuration. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ENV_VARIABLES, loadEnv } from '../../src/config/env';
import { loadConfig } from '../../src/config/file';
import { loadRouterEnv, ROUTER_ENV_VARIABLES } from '../../src/kongAdminRouter/env';

const root = join(__dirname, '../..');
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, unknown> | string[];
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const { services } = compose;
const api = services['cutover-api'];
const worker = services['cutover-worker'];
/** `${VAR:?msg}` stands for a value the user must export; give it one. */
const given = (s: Service, example: (name: string) => string) =>
  Object.fromEntries(Object.entries(s.environment!).map(([k, v]) => [k, v.startsWith('${') ? example(k) : v]));
const example = (k: string) => (k === 'CUTOVER_STEERING_KEYS' ? `k1:${'k'.repeat(32)}` : `a-value-of-at-least-32-bytes-for-${k}`);
const env = given(api, example);
/** A port as Compose reads it with nothing exported: `${VAR:-default}` is its default; [address, host port, container port]. */
const binding = (p: string): [string, number, number] => {
  const [address, host, container] = p.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1').split(/:(?=\d+(?::\d+)?$)/).flatMap((part, i) => (i === 0 ? [part] : part.split(':')));
  return [address, Number(host), Number(container)];
};
const published = (s: Service) => (s.ports ?? []).map((p) => binding(p).slice(1) as [number, number]);

test("has Temporal on PostgreSQL, the Temporal UI and cutover's worker and API built from this repository", () => {
  expect(Object.keys(services).sort()).toEqual(['cutover-api', 'cutover-worker', 'kong-admin-router', 'postgresql', 'temporal', 'temporal-ui']);
  expect(services.temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
  expect(api.build).toBe('.');
  expect(worker.build).toBe('.');
  for (const s of Object.values(services)) {
    if (s.image) expect(s.image).toMatch(/:[0-9][\w.-]*$/); // pinned, never :latest
  }
});

test('the API sets only variables it reads, and they validate', () => {
  const config = loadConfig({ ...env, CUTOVER_CONFIG: join(root, 'cutover.config.yaml') });
  const tokenVariables = config.auth.principals.length ? ['CUTOVER_TOKEN_VIEWER', 'CUTOVER_TOKEN_OPERATOR', 'CUTOVER_TOKEN_APPROVER', 'SANDBOX_PROJECTION_SERVICE_TOKEN'] : [];
  for (const name of Object.keys(env)) expect([...ENV_VARIABLES, ...tokenVariables]).toContain(name);
  // with a real Temporal the tokens must come from the environment, never the file's dev defaults
  expect(config.auth.principals.every((p) => p.tokenSource === 'env')).toBe(true);
  expect(loadEnv(env).temporal.address).toBe('temporal:7233');
});

test('the worker sets only variables it reads, none of the API tokens, and they validate', () => {
  const workerEnv = given(worker, example);
  for (const name of Object.keys(workerEnv)) expect(ENV_VARIABLES).toContain(name);
  const config = loadConfig({ ...workerEnv, CUTOVER_CONFIG: join(root, 'cutover.config.yaml') }, { api: false });
  expect(config.env.temporal.address).toBe(loadEnv(env).temporal.address);
  expect(config.env.temporal.taskQueue).toBe(loadEnv(env).temporal.taskQueue);
});

test('addresses and ports agree between the services', () => {
  const e = loadEnv(env);
  const [host, port] = e.temporal.address!.split(':');
  expect(services[host]).toBeDefined();
  expect(published(services.temporal)).toContainEqual([Number(port), Number(port)]);
  expect(published(api)).toContainEqual([e.api.port, e.api.port]);
  expect(published(worker)).toEqual([]);
  expect(e.api.host).toBe('0.0.0.0');
  const uiPort = Number(new URL(e.temporal.uiUrl!).port);
  expect(published(services['temporal-ui']).map(([hostPort]) => hostPort)).toContain(uiPort);
  expect(services['temporal-ui'].environment?.TEMPORAL_ADDRESS).toBe(e.temporal.address);
});

test('every published port binds to loopback unless CUTOVER_PUBLISH_ADDRESS says otherwise', () => {
  const ports = Object.values(services).flatMap((s) => s.ports ?? []);
  expect(ports.length).toBeGreaterThanOrEqual(4);
  for (const p of ports) {
    expect(p).toMatch(/^\$\{CUTOVER_PUBLISH_ADDRESS:-127\.0\.0\.1\}:\d+:\d+$/);
    expect(binding(p)[0]).toBe('127.0.0.1');
  }
});

test("the image's services run the production entries, npm start the embedded default's launcher", () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.start).toContain('src/embedded/main.ts');
  expect(dockerfile).toMatch(/CMD \["node", "--import", "tsx", "src\/bin\/worker.ts"\]/);
  expect(dockerfile).toMatch(/EXPOSE 8080/);
  expect(worker.command).toEqual(['node', '--import', 'tsx', 'src/bin/worker.ts']);
  expect(api.command).toEqual(['node', '--import', 'tsx', 'src/bin/api.ts']);
  for (const s of [worker, api]) expect(existsSync(join(root, s.command![3]))).toBe(true);
});

test("the Kong Admin API router: the same image with the router's command, only with --profile kong, its variables valid", () => {
  const router = services['kong-admin-router'];
  expect(router.build).toBe('.');
  expect(router.profiles).toEqual(['kong']);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const entry = 'src/bin/kongAdminRouter.ts';
  expect(pkg.scripts['admin-router']).toContain(entry);
  expect(router.command).toEqual(['node', '--import', 'tsx', entry]);
  for (const name of Object.keys(router.environment!)) expect(ROUTER_ENV_VARIABLES).toContain(name);
  const examples: Record<string, string> = { CUTOVER_ADMIN_ROUTER_DATABASE_URL: 'postgres://kong:pw@kong-db:5432/kong', CUTOVER_ADMIN_ROUTER_UPSTREAMS: 'http://kong:8001' };
  const e = loadRouterEnv(given(router, (k) => examples[k]));
  expect(e.host).toBe('0.0.0.0');
  expect(published(router)).toContainEqual([e.port, e.port]);
});
