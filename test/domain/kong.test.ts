/** Kong's pure parts: the migrations decision at plan, list's exit codes, the support matrix, counters and quantiles from the gateways' metrics, provider queries. */
import type { MigrationsStatus } from '../../src/domain/kong/answers';
import { KongAnswerError } from '../../src/domain/kong/answers';
import { counterDelta, errorRate, latencyQuantile, parseKongMetrics, parseKongQuery, sumCounters } from '../../src/domain/kong/metrics';
import { listExitOf, listMeaning, planMigrations } from '../../src/domain/kong/migrations';
import { kongDowngradeProblem, kongFeatures, kongVersionProblem, parseKongVersion } from '../../src/domain/kong/versions';

const core = (...migrations: string[]) => ({ subsystem: 'core', namespace: 'kong.db.migrations.core', migrations });
const plugin = (name: string, ...migrations: string[]) => ({ subsystem: name, namespace: `kong.plugins.${name}.migrations`, migrations });
const state = (s: Partial<MigrationsStatus>): MigrationsStatus => ({ needs_bootstrap: false, executed_migrations: [core('000_base')], ...s });
const o = { finishPending: false, blueVersion: '3.7.1', greenVersion: '3.9.3' };

describe('planMigrations, by subsystem and name', () => {
  test('new migrations for green: up, grouped as Kong groups them', () => {
    const green = state({ new_migrations: [core('024_380_to_390'), plugin('ai-proxy', '001_360_to_370')] });
    expect(planMigrations(state({}), green, o)).toEqual({ action: 'up', migrations: [{ subsystem: 'core', migrations: ['024_380_to_390'] }, { subsystem: 'ai-proxy', migrations: ['001_360_to_370'] }] });
  });
  test("pending that blue does not list (it knows only its own migrations): this upgrade's earlier attempt ran up, not run twice", () => {
    expect(planMigrations(state({}), state({ pending_migrations: [plugin('ai-proxy', '001_360_to_370')] }), o)).toEqual({
      action: 'alreadyUp',
      migrations: [{ subsystem: 'ai-proxy', migrations: ['001_360_to_370'] }],
    });
  });
  test("pending that blue lists pending too: an earlier upgrade's finish never ran; refused with the command, or finished first on request", () => {
    const blue = state({ pending_migrations: [plugin('ai-proxy', '001_360_to_370')] });
    const green = state({ pending_migrations: [plugin('ai-proxy', '001_360_to_370')], new_migrations: [core('024_380_to_390')] });
    const refused = planMigrations(blue, green, o);
    expect(refused).toMatchObject({ action: 'refuse', reason: expect.stringContaining("ai-proxy 001_360_to_370 are pending from an earlier upgrade whose 'kong migrations finish' never ran; run 'kong migrations finish' with Kong 3.7.1") });
    expect(refused).toMatchObject({ reason: expect.stringContaining('finishPending: true') });
    expect(planMigrations(blue, green, { ...o, finishPending: true })).toEqual({
      action: 'finishEarlier',
      earlier: [{ subsystem: 'ai-proxy', migrations: ['001_360_to_370'] }],
      then: [{ subsystem: 'core', migrations: ['024_380_to_390'] }],
    });
  });
  test('the same name in another subsystem is another migration', () => {
    const blue = state({ pending_migrations: [plugin('acme', '003_350_to_360')] });
    const green = state({ pending_migrations: [plugin('acme', '003_350_to_360'), plugin('rate-limiting', '003_350_to_360')] });
    expect(planMigrations(blue, green, o)).toMatchObject({ action: 'refuse', reason: expect.stringMatching(/^migrations acme 003_350_to_360 are pending from an earlier upgrade/) });
    expect(planMigrations(blue, green, { ...o, finishPending: true })).toMatchObject({ earlier: [{ subsystem: 'acme' }] });
  });
  test('pending from a rolled-back attempt and new ones too: refused (up needs finish first, which would break blue)', () => {
    const green = state({ pending_migrations: [plugin('ai-proxy', '001_360_to_370')], new_migrations: [core('025_390_to_3100')] });
    expect(planMigrations(state({}), green, o)).toMatchObject({ action: 'refuse', reason: expect.stringContaining('rolled back') });
  });
  test('not bootstrapped, or migrations status calls missing: refused; nothing new: none', () => {
    expect(planMigrations(state({}), { needs_bootstrap: true, new_migrations: [core('000_base')] }, o)).toMatchObject({ action: 'refuse', reason: expect.stringContaining('bootstrap') });
    const missing = state({ missing_migrations: [{ ...core(), migrations: [{ name: '024_380_to_390' }] }] });
    expect(planMigrations(state({}), missing, o)).toMatchObject({ action: 'refuse', reason: expect.stringContaining('core 024_380_to_390') });
    expect(planMigrations(state({}), state({}), o)).toEqual({ action: 'none' });
  });
  test("list's exit codes, and the one a status implies", () => {
    expect([0, 1, 3, 4, 5].map(listMeaning)).toEqual(['up to date', 'error (exit 1)', 'needs bootstrap', "pending: 'up' ran, 'finish' did not", 'new migrations available']);
    expect([{ needs_bootstrap: true }, state({ pending_migrations: [core('x')], new_migrations: [core('y')] }), state({ new_migrations: [core('y')] }), state({})].map(listExitOf)).toEqual([3, 4, 5, 0]);
  });
});

describe('the support matrix', () => {
  test('Kong 3.4 to 3.9, Enterprise and image-tag spellings included; what each version has', () => {
    for (const v of ['3.4.0', '3.4.2', '3.6.1', '3.8.0', '3.9.0', '3.9.3', '3.9.0.1', '3.9', '3.8.1-ubuntu']) expect(kongVersionProblem(v, 'green')).toBeUndefined();
    expect(kongFeatures(parseKongVersion('3.8.1')!)).toEqual({
      statusReady: true,
      postDraining: false,
      statusListenDefault: '127.0.0.1:8007',
      adminEdition: true,
      metricsWorkspaceLabel: true,
      prometheusAiMetrics: true,
    });
    expect(kongFeatures(parseKongVersion('3.9.0')!).postDraining).toBe(true);
    expect(kongFeatures(parseKongVersion('3.5.0')!)).toMatchObject({ statusListenDefault: 'off', adminEdition: false, metricsWorkspaceLabel: false });
  });
  test('outside it: the version, what it lacks and what to do', () => {
    expect(kongVersionProblem('3.2.1', 'blue')).toBe(
      "the release serving now runs Kong 3.2.1, which is older than what cutover supports, Kong 3.4 (LTS) to 3.9: Kong 3.2.1 has no GET /status/ready (Kong 3.3 and later), by which cutover tells that a node is ready; " +
        "upgrade it to Kong 3.4 with Kong's own runbook first ('kong migrations up', the new nodes, then 'kong migrations finish'), then upgrade with cutover",
    );
    expect(kongVersionProblem('3.3.1', 'green')).toBe(
      '3.3.1 is older than what cutover supports, Kong 3.4 (LTS) to 3.9: Kong 3.3.1 is not a version cutover was checked against; upgrade to Kong 3.4 or later',
    );
    expect(kongVersionProblem('3.10.0', 'green')).toMatch(/^3\.10\.0 is newer than what cutover supports, .* checked in its source up to 3\.9\.3 only; upgrade to a 3\.9\.x release$/);
    expect(kongVersionProblem('latest', 'green')).toBe("'latest' is not a Kong version (such as 3.9.0, or 3.9.0.1 for Kong Enterprise)");
    expect(kongDowngradeProblem('3.9.0', '3.8.1')).toMatch(/Kong 3\.8\.1 is older than Kong 3\.9\.0, which serves now: Kong's migrations only go forward/);
    expect(kongDowngradeProblem('3.9.1', '3.9.0')).toBeUndefined();
  });
});

const METRICS = `# HELP kong_http_requests_total x
kong_http_requests_total{service="echo",route="echo",code="200",source="service",workspace="default",consumer=""} 90
kong_http_requests_total{service="echo",route="echo",code="500",source="kong",workspace="default",consumer=""} 10
kong_request_latency_ms_bucket{service="echo",route="echo",workspace="default",le="5"} 50
kong_request_latency_ms_bucket{service="echo",route="echo",workspace="default",le="10"} 98
kong_request_latency_ms_bucket{service="echo",route="echo",workspace="default",le="20"} 100
kong_request_latency_ms_bucket{service="echo",route="echo",workspace="default",le="+Inf"} 100
kong_node_info{node_id="x",version="3.9.0"} 1`;

describe('counters', () => {
  test('requests, 5xx, error rate and p99 (interpolated as histogram_quantile does), summed over nodes and between readings', () => {
    const { version, ...one } = parseKongMetrics(METRICS);
    expect(version).toBe('3.9.0');
    expect(one).toMatchObject({ requests: 100, errors: 10, exported: { requests: true, latency: true } });
    expect(errorRate(one)).toBe(0.1);
    expect(latencyQuantile(one, 0.99)).toBeCloseTo(15);
    expect(latencyQuantile(one, 0.5)).toBeCloseTo(5);
    const two = sumCounters([one, one]);
    expect(two).toMatchObject({ requests: 200, errors: 20 });
    expect(counterDelta(two, one)).toEqual(one);
    expect(errorRate(counterDelta(one, one))).toBeUndefined(); // no requests: no data
    expect(latencyQuantile(counterDelta(one, one), 0.99)).toBeUndefined();
    expect(parseKongMetrics('kong_node_info{node_id="x",version="3.9.0"} 1').exported).toEqual({ requests: false, latency: false });
  });
  test("labels other than the version's: an error naming Kong, the version, the label and what was found", () => {
    // 3.6 writes no workspace label (kong/plugins/prometheus/exporter.lua@3.6.1 line 104)
    const mixed = METRICS.replace('version="3.9.0"', 'version="3.6.1"');
    expect(() => parseKongMetrics(mixed)).toThrow(KongAnswerError);
    expect(() => parseKongMetrics(mixed)).toThrow(/^Kong 3\.6\.1 answered \/metrics with kong_http_requests_total\{service,route,code,source,workspace,consumer\} with workspace: "default"/);
  });
  test('provider queries', () => {
    expect(parseKongQuery('error-rate@kong-3-9-0[5s]')).toEqual({ measure: 'error-rate', release: 'kong-3-9-0', windowMs: 5000 });
    expect(parseKongQuery('latency-p99@kong-3-9-0')).toEqual({ measure: 'latency-p99', release: 'kong-3-9-0', windowMs: undefined });
    expect(() => parseKongQuery('rate(x)')).toThrow(/error-rate@<release>/);
  });
});
