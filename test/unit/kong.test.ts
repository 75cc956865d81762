/** Kong's pure parts: the migrations decision at plan, list's exit codes, counters and quantiles from the gateways' metrics, provider queries. */
import { counterDelta, errorRate, latencyQuantile, parseKongMetrics, parseKongQuery, sumCounters } from '../../src/domain/kong/metrics';
import { listMeaning, planMigrations, type SchemaState } from '../../src/domain/kong/migrations';

const state = (s: Partial<SchemaState>): SchemaState => ({
  needs_bootstrap: false,
  executed_migrations: ['000_base'],
  pending_migrations: [],
  missing_migrations: [],
  new_migrations: [],
  ...s,
});
const o = { finishPending: false, blueVersion: '3.8.0' };

describe('planMigrations', () => {
  test('new migrations for green: up', () => {
    expect(planMigrations(state({}), state({ new_migrations: ['001_380_to_390'] }), o)).toEqual({ action: 'up', migrations: ['001_380_to_390'] });
  });
  test("pending that only green knows: this upgrade's earlier attempt ran up, not run twice", () => {
    const blue = state({ missing_migrations: ['001_380_to_390'] });
    expect(planMigrations(blue, state({ pending_migrations: ['001_380_to_390'] }), o)).toEqual({ action: 'alreadyUp', migrations: ['001_380_to_390'] });
  });
  test("pending that blue knows: an earlier upgrade's finish never ran; refused with the command, or finished first on request", () => {
    const blue = state({ pending_migrations: ['001_370_to_380'] });
    const green = state({ pending_migrations: ['001_370_to_380'], new_migrations: ['002_380_to_390'] });
    const refused = planMigrations(blue, green, o);
    expect(refused).toMatchObject({ action: 'refuse', reason: expect.stringContaining("run 'kong migrations finish' with Kong 3.8.0") });
    expect(refused).toMatchObject({ reason: expect.stringContaining('finishPending: true') });
    expect(planMigrations(blue, green, { ...o, finishPending: true })).toEqual({ action: 'finishEarlier', earlier: ['001_370_to_380'], then: ['002_380_to_390'] });
  });
  test('pending from a rolled-back attempt and new ones too: refused (up needs finish first, which would break blue)', () => {
    const blue = state({ missing_migrations: ['001_380_to_390'] });
    const green = state({ pending_migrations: ['001_380_to_390'], new_migrations: ['002_390_to_3100'] });
    expect(planMigrations(blue, green, o)).toMatchObject({ action: 'refuse', reason: expect.stringContaining('rolled back') });
  });
  test('not bootstrapped, or newer than green: refused; nothing new: none', () => {
    expect(planMigrations(state({}), state({ needs_bootstrap: true }), o)).toMatchObject({ action: 'refuse', reason: expect.stringContaining('bootstrap') });
    expect(planMigrations(state({}), state({ missing_migrations: ['009_x'] }), o)).toMatchObject({ action: 'refuse' });
    expect(planMigrations(state({}), state({}), o)).toEqual({ action: 'none' });
  });
  test("list's exit codes", () => {
    expect([0, 1, 3, 4, 5].map(listMeaning)).toEqual(['up to date', 'error (exit 1)', 'needs bootstrap', "pending: 'up' ran, 'finish' did not", 'new migrations available']);
  });
});

const METRICS = `# HELP kong_http_requests_total x
kong_http_requests_total{service="echo",route="echo",code="200",source="service"} 90
kong_http_requests_total{service="echo",route="echo",code="500",source="kong"} 10
kong_request_latency_ms_bucket{le="5",service="echo",route="echo"} 50
kong_request_latency_ms_bucket{le="10",service="echo",route="echo"} 98
kong_request_latency_ms_bucket{le="20",service="echo",route="echo"} 100
kong_request_latency_ms_bucket{le="+Inf",service="echo",route="echo"} 100
kong_node_info{node_id="x",version="3.9.0"} 1`;

describe('counters', () => {
  test('requests, 5xx, error rate and p99 (interpolated as histogram_quantile does), summed over nodes and between readings', () => {
    const one = parseKongMetrics(METRICS);
    expect(one).toMatchObject({ requests: 100, errors: 10 });
    expect(errorRate(one)).toBe(0.1);
    expect(latencyQuantile(one, 0.99)).toBeCloseTo(15);
    expect(latencyQuantile(one, 0.5)).toBeCloseTo(5);
    const two = sumCounters([one, one]);
    expect(two).toMatchObject({ requests: 200, errors: 20 });
    expect(counterDelta(two, one)).toEqual(one);
    expect(errorRate(counterDelta(one, one))).toBeUndefined(); // no requests: no data
    expect(latencyQuantile(counterDelta(one, one), 0.99)).toBeUndefined();
  });
  test('provider queries', () => {
    expect(parseKongQuery('error-rate@kong-3-9-0[5s]')).toEqual({ measure: 'error-rate', release: 'kong-3-9-0', windowMs: 5000 });
    expect(parseKongQuery('latency-p99@kong-3-9-0')).toEqual({ measure: 'latency-p99', release: 'kong-3-9-0', windowMs: undefined });
    expect(() => parseKongQuery('rate(x)')).toThrow(/error-rate@<release>/);
  });
});
