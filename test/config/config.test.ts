/** Configuration loading: the environment and the config file; every error names where and why. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadEnv } from '../../src/config/env';
import { loadConfig, readConfigFile } from '../../src/config/file';
import { configErrorOf as errorOf } from '../support/configError';

const dir = mkdtempSync(join(tmpdir(), 'cutover-config-'));
let n = 0;
function file(text: string, ext = 'yaml'): string {
  const path = join(dir, `config-${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
}

const LONG_TOKEN = 'a-token-from-the-environment-32-bytes';
const STEERING = `k1:${'k'.repeat(32)}`;
const ACCESS = "emqx: { apiUrl: 'http://emqx:18083', apiKey: { env: EMQX_KEY }, apiSecret: { env: EMQX_SECRET } }";
const VALID = `
targets:
  - { name: orders-mqtt, kind: emqx, kubernetes: { namespace: mqtt, workload: { kind: StatefulSet, name: emqx }, service: emqx }, ${ACCESS} }
  - { name: edge, kind: emqx, local: { cluster: edge, version: 5.7.0, ports: { mqtt: 21883, api: 28083, status: 28888 } }, ${ACCESS} }
auth:
  tokens:
    - { principal: ops, roles: [operator], token: { env: OPS_TOKEN, devDefault: ops-dev-token-0000 } }
`;


describe('environment', () => {
  test('defaults when nothing is set; empty counts as unset', () => {
    expect(loadEnv({ CUTOVER_API_PORT: '' })).toEqual({
      temporal: { address: undefined, namespace: 'default', taskQueue: 'cutover', uiUrl: undefined, connection: {} },
      api: { host: '127.0.0.1', port: 8080, limits: { requestsPerMinute: 600, concurrentRequests: 20, longPolls: 200, authFailuresPerMinute: 20 } },
     
      configPath: 'cutover.config.yaml',
      logLevel: 'info',
      steeringKeys: {},
    });
  });

  test('values are read and converted', () => {
    const env = loadEnv({ TEMPORAL_ADDRESS: 'temporal:7233', CUTOVER_API_PORT: '9090', LOG_LEVEL: 'debug', CUTOVER_TEMPORAL_UI_URL: 'http://ui:8080' });
    expect(env.temporal).toMatchObject({ address: 'temporal:7233', uiUrl: 'http://ui:8080' });
    expect(env.api.port).toBe(9090);
    expect(env.logLevel).toBe('debug');
  });

  test.each([
    ['CUTOVER_API_PORT', 'eighty', /CUTOVER_API_PORT="eighty" must be an integer\. Set it to a port number from 0 to 65535/],
    ['CUTOVER_API_PORT', '70000', /CUTOVER_API_PORT="70000" must be less or equal to 65535/],
    ['TEMPORAL_ADDRESS', 'http://temporal', /TEMPORAL_ADDRESS="http:\/\/temporal" must be host:port\. .*unset it to run the embedded dev server/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud" must be one of fatal, error, warn, info, debug, trace, silent/],
    ['CUTOVER_TEMPORAL_UI_URL', 'localhost:8233', /CUTOVER_TEMPORAL_UI_URL="localhost:8233" must be an http\(s\) URL/],
    ['CUTOVER_WORKER_METRICS', '9464', /CUTOVER_WORKER_METRICS="9464" must be host:port\. Set it to host:port where the worker serves/],
  ])('%s=%s is refused with the fix', (name, value, message) => {
    expect(errorOf(() => loadEnv({ [name]: value }))).toMatch(message);
  });

  test("the connection is read through Temporal's environment configuration: API key, TLS files, for the worker and the API alike", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-tls-'));
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(dir, f), `-----BEGIN ${f}-----\n`);
    const env = loadEnv({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'tls.crt'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'tls.key'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.crt'),
      TEMPORAL_GRPC_META_X_TENANT: 'orders',
    });
    expect(env.temporal).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct' });
    expect(env.temporal.connection).toMatchObject({
      address: 'ns.acct.tmprl.cloud:7233',
      tls: { clientCertPair: { crt: expect.any(Uint8Array), key: expect.any(Uint8Array) }, serverRootCACertificate: expect.any(Uint8Array) },
      metadata: { 'x-tenant': 'orders' },
    });
    // an API key alone turns TLS on, as Temporal Cloud wants
    expect(loadEnv({ TEMPORAL_ADDRESS: 'a.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' }).temporal.connection).toMatchObject({ apiKey: 'k', tls: true });
    // a TOML profile works too
    writeFileSync(join(dir, 'temporal.toml'), '[profile.prod]\naddress = "prod.example:7233"\nnamespace = "upgrades"\n');
    expect(loadEnv({ TEMPORAL_CONFIG_FILE: join(dir, 'temporal.toml'), TEMPORAL_PROFILE: 'prod' }).temporal).toMatchObject({ address: 'prod.example:7233', namespace: 'upgrades' });
  });

  test('a certificate path that cannot be read stops the start, naming the variable', () => {
    const message = errorOf(() => loadEnv({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_TLS_CLIENT_CERT_PATH: '/etc/temporal-tls/missing.crt' }));
    expect(message).toContain('TEMPORAL_TLS_CLIENT_CERT_PATH="/etc/temporal-tls/missing.crt" cannot be read');
    expect(errorOf(() => loadEnv({ TEMPORAL_CONFIG_FILE: '/nope/temporal.toml' }))).toContain('TEMPORAL_CONFIG_FILE="/nope/temporal.toml" cannot be read');
  });

  test('every bad variable is reported at once', () => {
    const message = errorOf(() => loadEnv({ CUTOVER_API_PORT: 'x', LOG_LEVEL: 'y' }));
    expect(message).toContain('CUTOVER_API_PORT');
    expect(message).toContain('LOG_LEVEL');
  });
});

describe('configuration file', () => {
  test('a valid file loads, with defaults applied', () => {
    const config = readConfigFile(file(VALID));
    expect(config.targets.map((t) => t.name)).toEqual(['orders-mqtt', 'edge']);
  });

  test('a router named in the kubernetes placement, or the older httpRoute, or neither (the Service selector)', () => {
    const placed = (extra: string) => readConfigFile(file(VALID.replace('service: emqx }', `service: emqx${extra} }`))).targets[0]!.kubernetes;
    expect(placed(', router: { type: httpRoute, name: emqx }')?.router).toEqual({ type: 'httpRoute', name: 'emqx' });
    expect(placed(', httpRoute: emqx')).toMatchObject({ httpRoute: 'emqx' });
    expect(placed('')?.router).toBeUndefined();
  });

  test('a service token bound to its target, and named checks that defaults refer to', () => {
    const text =
      VALID.replace('auth:', "analysis: [{ name: error-rate, provider: prometheus, query: 'sum(up)', successCondition: 'result > 0' }]\ndefaults: { traffic: [{ weight: 50, analysis: [error-rate] }, { weight: 100 }] }\nauth:") +
      '    - { principal: edge-svc, roles: [service], target: edge, token: { env: SVC_TOKEN } }\n';
    const config = readConfigFile(file(text));
    expect(config.auth.tokens[1]).toMatchObject({ roles: ['service'], target: 'edge' });
    expect(config.analysis?.[0].name).toBe('error-rate');
  });

  test("named analysis checks load as written, with Argo's defaults", () => {
    const config = readConfigFile(
      file(VALID + "analysis:\n  - { name: error-rate, provider: prometheus, query: 'sum(rate(x{release=\"{{green}}\"}[1m]))', interval: 30s, count: 10, successCondition: 'result < 0.05' }\n"),
    );
    expect(config.analysis).toEqual([
      {
        name: 'error-rate',
        provider: 'prometheus',
        query: 'sum(rate(x{release="{{green}}"}[1m]))',
        interval: '30s',
        count: 10,
        successCondition: 'result < 0.05',
        failureLimit: 0,
        inconclusiveLimit: 0,
        consecutiveErrorLimit: 4,
        onInconclusive: 'pause',
      },
    ]);
  });

  test('JSON works too', () => {
    const json = JSON.stringify({ targets: [], auth: { tokens: [{ principal: 'v', roles: ['viewer'], token: { env: 'V' } }] } });
    expect(readConfigFile(file(json, 'json')).auth.tokens).toHaveLength(1);
  });

  test('a missing file names the path and the variable that names it', () => {
    expect(errorOf(() => readConfigFile(join(dir, 'absent.yaml')))).toMatch(/cannot read configuration file .*absent\.yaml: no such file \(CUTOVER_CONFIG names the file\)/);
  });

  test('a YAML syntax error names the file and the line', () => {
    const path = file('targets:\n  - name: [unclosed\nauth: {}\n');
    expect(errorOf(() => readConfigFile(path))).toMatch(new RegExp(`${path} is not valid YAML or JSON: .*line \\d+`, 's'));
  });

  const bad = (patch: string) => VALID + patch;
  test.each([
    ['no auth section', 'targets: []\n', /auth: is required/],
    ['an unknown kind', VALID.replace('name: edge, kind: emqx', 'name: edge, kind: redis'), /targets\[1\]\.kind: must be (one of|a kind this worker has a strategy for:) emqx/],
    ['a kind without its access block', VALID.replace(`service: emqx }, ${ACCESS}`, 'service: emqx }'), /targets\[0\]\.emqx: is required for a target of kind emqx/],
    ['a target without a placement', VALID.replace(', kubernetes: { namespace: mqtt, workload: { kind: StatefulSet, name: emqx }, service: emqx }', ''), /targets\[0\]: 'orders-mqtt' needs a placement: kubernetes or local/],
    ['a local sandbox missing a port', VALID.replace('ports: { mqtt: 21883, api: 28083, status: 28888 }', 'ports: { mqtt: 21883 }'), /targets\[1\]\.local\.ports: needs api, status \(a emqx sandbox listens on mqtt, api, status\)/],
    ['a target default the schema allows but the rules do not', VALID.replace('status: 28888 } },', 'status: 28888 } }, defaults: { approval: auto, autoPromoteAfter: 5m },'), /targets\[1\]\.defaults\.autoPromoteAfter: applies only with approval manual/],
    ['a target name with capitals', VALID.replace('name: edge', 'name: Edge'), /targets\[1\]\.name: must match '\^\[a-z0-9\]/],
    ['an unknown role', VALID.replace('[operator]', '[admin]'), /auth\.tokens\[0\]\.roles\[0\]: must be one of viewer, operator, approver, service \(a role of your own is declared in auth\.roles\)/],
    ['a token written in the file', VALID.replace('token: { env: OPS_TOKEN, devDefault: ops-dev-token-0000 }', 'token: s3cr3t'), /auth\.tokens\[0\]\.token: must be an object/],
    ['an unknown top-level key', bad('extra: 1\n'), /extra: is not a known property/],
    ['a garbled default duration', bad('defaults: { standbyWindow: ten minutes }\n'), /defaults\.standbyWindow: must be a duration such as 90s, 10m or 1h30m/],
    ['a zero default step timeout', bad('defaults: { stepTimeouts: { verify: 0s } }\n'), /defaults\.stepTimeouts\.verify: must be longer than 0s/],
    ['a timeout for an unknown step', bad('defaults: { stepTimeouts: { deploy: 5m } }\n'), /defaults\.stepTimeouts\.deploy: is not a known property/],
    ['duplicate target names', VALID.replace('name: edge', 'name: orders-mqtt'), /targets\[1\]\.name: 'orders-mqtt' is already the name of targets\[0\]/],
    [
      'two targets on one workload',
      VALID.replace('auth:', `  - { name: orders-view, kind: emqx, kubernetes: { namespace: mqtt, workload: { kind: StatefulSet, name: emqx }, service: view }, ${ACCESS} }\nauth:`),
      /targets\[2\]\.kubernetes\.workload: is already the placement of targets\[0\] \('orders-mqtt'\): each target needs its own/,
    ],
    [
      'two local targets on one sandbox',
      VALID.replace('auth:', `  - { name: edge-2, kind: emqx, local: { cluster: edge, version: 5.7.0, ports: { mqtt: 21884, api: 28084, status: 28889 } }, ${ACCESS} }\nauth:`),
      /targets\[2\]\.local\.cluster: is already the placement of targets\[1\] \('edge'\)/,
    ],
    ['an analysis check without its query', bad('analysis: [{ name: error-rate, provider: prometheus, successCondition: result < 0.05 }]\n'), /analysis\[0\]\.query: is required by provider prometheus/],
    ['an analysis condition that does not parse', bad("analysis: [{ name: e, provider: prometheus, query: up, successCondition: 'result <' }]\n"), /analysis\[0\]\.successCondition: 'result <' ends too early/],
    ['an analysis interval that is no duration', bad('analysis: [{ name: e, provider: prometheus, query: up, interval: 30 s, count: 2 }]\n'), /analysis\[0\]\.interval: must be a duration such as 30s: the time between measurements/],
    ['an analysis provider with capitals', bad('analysis: [{ name: e, provider: Prometheus, query: up }]\n'), /analysis\[0\]\.provider: must be a provider name: 'prometheus'/],
    ['two analysis checks of one name', bad('analysis: [{ name: e, provider: prometheus, query: up }, { name: e, provider: http, url: "http://x" }]\n'), /analysis\[1\]\.name: 'e' is already the name of analysis\[0\]/],
    [
      'duplicate principals',
      VALID + '    - { principal: ops, roles: [viewer], token: { env: OTHER_TOKEN } }\n',
      /auth\.tokens\[1\]\.principal: 'ops' is already used by auth\.tokens\[0\]/,
    ],
    ['a service token without its target', VALID + '    - { principal: svc, roles: [service], token: { env: SVC_TOKEN } }\n', /auth\.tokens\[1\]: a service token has the role service alone and names its target/],
    ['a service token with another role', VALID + '    - { principal: svc, roles: [service, viewer], target: edge, token: { env: SVC_TOKEN } }\n', /auth\.tokens\[1\]: a service token has the role service alone/],
    ['a target on a token of another role', VALID + '    - { principal: v, roles: [viewer], target: edge, token: { env: V_TOKEN } }\n', /auth\.tokens\[1\]\.target: only a service token is bound to a target/],
    ['a service token of an unknown target', VALID + '    - { principal: svc, roles: [service], target: nowhere, token: { env: SVC_TOKEN } }\n', /auth\.tokens\[1\]\.target: 'nowhere' is not a configured target/],
    ['a router of an unknown type', VALID.replace('service: emqx }', 'service: emqx, router: { type: linkerd, name: emqx } }'), /targets\[0\]\.kubernetes\.router\.type: must be one of service, httpRoute, virtualService/],
    ['a router without its name', VALID.replace('service: emqx }', 'service: emqx, router: { type: httpRoute } }'), /targets\[0\]\.kubernetes\.router\.name: is required/],
    [
      'both a router and the older httpRoute',
      VALID.replace('service: emqx }', 'service: emqx, httpRoute: emqx, router: { type: httpRoute, name: emqx } }'),
      /targets\[0\]\.kubernetes\.httpRoute: names a router, as kubernetes\.router does: keep router alone/,
    ],
    ['a traffic step naming no check', bad('defaults: { traffic: [{ weight: 100, analysis: [error-rate] }] }\n'), /defaults\.traffic\[0\]\.analysis\[0\]: names no analysis check 'error-rate'/],
  ])('%s is refused naming the field', (_name, text, message) => {
    const path = file(text);
    const error = errorOf(() => readConfigFile(path));
    expect(error).toContain(`${path} is not a valid cutover configuration`);
    expect(error).toMatch(message);
  });
});

describe('loadConfig', () => {
  test("the repository's cutover.config.yaml works out of the box with the embedded dev server", () => {
    const config = loadConfig({ CUTOVER_CONFIG: resolve(__dirname, '../../cutover.config.yaml') });
    expect(config.targets.find((t) => t.name === 'sandbox-emqx')?.local?.ports).toEqual({ mqtt: 21883, api: 28083, status: 28888 });
    expect(config.auth.principals.map((p) => [p.principal, p.roles, p.tokenSource])).toEqual([
      ['viewer', ['viewer'], 'devDefault'],
      ['operator', ['operator'], 'devDefault'],
      ['approver', ['approver'], 'devDefault'],
      ['sandbox-projection-service', ['service'], 'devDefault'],
    ]);
    expect(config.targets.find((t) => t.name === 'sandbox-projection')?.projection?.catchUp).toEqual({ preset: 'axon', naming: 'jdbc' });
    expect(config.defaults.approval).toBe('manual');
  });

  test('a token from the environment wins over the development default', () => {
    const config = loadConfig({ CUTOVER_CONFIG: file(VALID), OPS_TOKEN: LONG_TOKEN });
    expect(config.auth.principals[0]).toMatchObject({ token: LONG_TOKEN, tokenSource: 'env' });
  });

  test('a configured token shorter than 32 bytes is refused at load, naming its variable', () => {
    const message = errorOf(() => loadConfig({ CUTOVER_CONFIG: file(VALID), OPS_TOKEN: 'x' }));
    expect(message).toMatch(/auth\.tokens\[0\]\.token: OPS_TOKEN has 1 bytes: a token needs at least 32/);
    expect(loadConfig({ CUTOVER_CONFIG: file(VALID), OPS_TOKEN: 'x'.repeat(32) }).auth.principals[0].token).toHaveLength(32);
  });

  test.each(['0.0.0.0', '::', '10.1.2.3'])('the development tokens are refused when the API listens on %s', (host) => {
    const message = errorOf(() => loadConfig({ CUTOVER_CONFIG: file(VALID), CUTOVER_API_HOST: host }));
    expect(message).toContain(`auth.tokens[0].token: environment variable OPS_TOKEN is not set, and the development token is refused: the API listens on ${host}, not on loopback`);
  });

  test.each(['127.0.0.1', '127.0.1.1', 'localhost', '::1'])('the development tokens serve an API on loopback (%s)', (host) => {
    expect(loadConfig({ CUTOVER_CONFIG: file(VALID), CUTOVER_API_HOST: host }).auth.principals[0].tokenSource).toBe('devDefault');
  });

  test('a worker alone needs no API token', () => {
    const config = loadConfig({ CUTOVER_CONFIG: file(VALID), TEMPORAL_ADDRESS: 'temporal:7233', CUTOVER_STEERING_KEYS: STEERING }, { api: false });
    expect(config.auth.principals).toEqual([]);
  });

  test('against a real Temporal the development default is refused', () => {
    const message = errorOf(() => loadConfig({ CUTOVER_CONFIG: file(VALID), TEMPORAL_ADDRESS: 'temporal:7233' }));
    expect(message).toMatch(/auth\.tokens\[0\]\.token: environment variable OPS_TOKEN is not set \(its devDefault applies only with the embedded dev server/);
  });

  test('two principals with the same token are refused', () => {
    const text = VALID + '    - { principal: view, roles: [viewer], token: { env: VIEW_TOKEN } }\n';
    const message = errorOf(() => loadConfig({ CUTOVER_CONFIG: file(text), OPS_TOKEN: LONG_TOKEN, VIEW_TOKEN: LONG_TOKEN }));
    expect(message).toMatch(/view and ops have the same token/);
  });

  test('steering keys: the first signs, each verifies; the embedded default makes its own; a real Temporal needs them', () => {
    const config = loadConfig({ CUTOVER_CONFIG: file(VALID), CUTOVER_STEERING_KEYS: `new:${'n'.repeat(40)},old:${'o'.repeat(32)}` });
    expect(config.steering.keys.map((k) => k.id)).toEqual(['new', 'old']);
    expect(loadConfig({ CUTOVER_CONFIG: file(VALID) }).steering.keys.map((k) => k.id)).toEqual(['embedded']);
    const real = { CUTOVER_CONFIG: file(VALID), TEMPORAL_ADDRESS: 'temporal:7233', OPS_TOKEN: LONG_TOKEN };
    expect(errorOf(() => loadConfig(real))).toMatch(/CUTOVER_STEERING_KEYS \(or CUTOVER_STEERING_KEYS_FILE\) is not set/);
    const keyFile = join(dir, 'steering-keys');
    writeFileSync(keyFile, `k2:${'2'.repeat(48)}\nk1:${'1'.repeat(48)}\n`);
    expect(loadConfig({ ...real, CUTOVER_STEERING_KEYS_FILE: keyFile }).steering.keys.map((k) => k.id)).toEqual(['k2', 'k1']);
  });

  test.each([
    [`k1:${'s'.repeat(31)}`, /key k1 has 31 bytes; it needs at least 32/],
    [`${'s'.repeat(40)}`, /an entry does not start with a key id/],
    [`k1:${'a'.repeat(32)},k1:${'b'.repeat(32)}`, /key id k1 is given twice/],
  ])('steering keys %s are refused', (keys, message) => {
    expect(errorOf(() => loadConfig({ CUTOVER_CONFIG: file(VALID), CUTOVER_STEERING_KEYS: keys }))).toMatch(message);
  });

  test('a bad environment stops before the file is read', () => {
    expect(errorOf(() => loadConfig({ CUTOVER_API_PORT: '-1', CUTOVER_CONFIG: join(dir, 'absent.yaml') }))).toMatch(/CUTOVER_API_PORT/);
  });
});
