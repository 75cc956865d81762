/**
 * The projection activities on a real PostgreSQL: the catch-up watch over an
 * Axon store that keeps growing (lag, rate, ETA, the hold), a stalled
 * processor failing at stallTimeout, and a release's database and role
 * created once and dropped even while connected; with an upgrade as owner,
 * their owner recorded in PostgreSQL comments and a clash refused.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { withClient } from '../../../src/activities/pg';
import { PgPools, createProjectionActivities, projectionReleaseResources, releaseRolePassword, type ResolvedProjectionAccess } from '../../../src/activities/projection';
import { ensureReleaseDatabase } from '../../../src/activities/projection/releaseDatabase';
import { PROJECTION_STALLED, type CatchUpHeartbeat } from '../../../src/domain/projection/catchUp';
import { PostgresServer } from '../../../src/sandbox/postgres';
import { appendEvents, createAxonSchema, GAP_AWARE_TOKEN_TYPE, gapAwareToken, saveToken, type AxonLayout } from '../../../src/sandbox/projection/axonStore';
import { failure, run } from '../../support/activityHarness';

const layout: AxonLayout = { naming: 'jpa', tokenStorage: 'largeObject' };
const SECRET = 'test-role-secret';
let pg: PostgresServer;
let store: Client;
const pools = new PgPools();
let access: ResolvedProjectionAccess;
const activities = () => createProjectionActivities({ access: () => access, pools, pollMs: 100 });

/** The heartbeats that carry a reading. */
const readings = (beats: unknown[]) => (beats as CatchUpHeartbeat[]).flatMap((b) => (b.progress ? [{ ...b, progress: b.progress }] : []));
const batch = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ aggregate: `a-${(from + i) % 97}`, seq: Math.floor((from + i) / 97), type: 'OrderPlaced', payload: {} }));
const setPosition = (processor: string, n: number) => saveToken(store, layout, { processor, segment: 0, token: gapAwareToken(n, 'json'), tokenType: GAP_AWARE_TOKEN_TYPE });

beforeAll(async () => {
  const parent = mkdtempSync(join(tmpdir(), 'cutover-projection-'));
  chmodSync(parent, 0o755);
  pg = await PostgresServer.start({ dir: join(parent, 'pg') });
  await pg.ensureDatabase('store');
  store = new Client({ connectionString: pg.url('store') });
  await store.connect();
  await createAxonSchema(store, layout);
  for (let i = 0; i < 10; i++) await appendEvents(store, 'jpa', batch(1000, i * 1000));
  access = { catchUp: { preset: 'axon', naming: 'jpa', tokenStorage: 'largeObject' }, eventStoreUrl: pg.url('store'), databasesUrl: pg.url(), rolePasswordSecret: SECRET, processorName: '{target}-{release}' };
}, 60_000);
afterAll(async () => {
  await pools.end();
  await store?.end();
  await pg?.stop();
});

const policy = { maxLag: 200, holdMs: 300, stallAfterMs: 400, smoothingMs: 1000 };

test('watches a processor catch up with a growing store: lag, smoothed rate and an ETA that holds, then the hold time', async () => {
  await setPosition('orders-v2', 0);
  // green processes 2,000 events/s while the producer appends 200/s, one write at a time as a processor and a producer do
  const began = Date.now();
  let head = 10_000;
  let stop = false;
  const simulation = (async () => {
    while (!stop) {
      const dt = (Date.now() - began) / 1000;
      await setPosition('orders-v2', Math.min(head, Math.round(2000 * dt)));
      const due = Math.round(10_000 + 200 * dt) - head;
      if (due > 0) head = await appendEvents(store, 'jpa', batch(due, head));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    const r = run(activities().watchCatchUp, { target: 't', release: 'v2', processor: 'orders-v2', policy, stallTimeoutMs: 5000, pollMs: 100 });
    const final = await r.result;
    const took = Date.now() - began;
    expect(final.lag).toBeLessThanOrEqual(policy.maxLag);
    const beats = readings(r.heartbeats);
    expect(beats.length).toBeGreaterThan(10);
    // the ETA given at 10% of the way, against the time it really took from there
    const at10 = beats.find((b) => b.progress.position >= 0.1 * b.progress.head && b.progress.etaMs !== undefined)!;
    const actual = took - (at10.progress.lastSample.at - began) - policy.holdMs;
    expect(Math.abs(at10.progress.etaMs! - actual) / actual).toBeLessThan(0.25);
    expect(at10.summary).toMatch(/^position \d+ of \d+, lag \d+, \d+ events\/s, ETA \d+s$/);
    expect(at10.progress.rate).toBeGreaterThan(1500);
    expect(at10.progress.rate).toBeLessThan(2500);
  } finally {
    stop = true;
    await simulation;
  }
}, 30_000);

test('a processor that stops moving is reported stalled, and the watch fails at stallTimeout', async () => {
  await setPosition('orders-stuck', 1234);
  const r = run(activities().watchCatchUp, { target: 't', release: 'v3', processor: 'orders-stuck', policy, stallTimeoutMs: 1500, pollMs: 100 });
  const began = Date.now();
  const f = await failure(r.result);
  expect(Date.now() - began).toBeGreaterThanOrEqual(1400);
  expect(f.type).toBe(PROJECTION_STALLED);
  expect(f.nonRetryable).toBe(true);
  expect(f.message).toMatch(/v3's processor orders-stuck made no progress since \S+Z \(1500ms allowed\): position 1234 of \d+/);
  const all = readings(r.heartbeats);
  const at = all.findIndex((b) => b.progress.stalledSince !== undefined);
  const [before, firstStall] = [all[at - 1]!, all[at]!];
  expect(firstStall.summary).toContain('no progress since');
  // reported at the first reading past stallAfterMs without progress: the reading before it was still within it
  expect(firstStall.progress.lastSample.at - firstStall.progress.lastProgressAt).toBeGreaterThanOrEqual(policy.stallAfterMs);
  expect(before.progress.lastSample.at - before.progress.lastProgressAt).toBeLessThan(policy.stallAfterMs);
});

test('an event store that cannot be read counts as no progress: the watch fails at stallTimeout with the read error', async () => {
  const broken = createProjectionActivities({ access: () => ({ ...access, eventStoreUrl: pg.url('no_such_db') }), pools, pollMs: 100 });
  await setPosition('orders-v4', 10);
  const r = run(broken.watchCatchUp, { target: 't', release: 'v4', processor: 'orders-v4', policy, stallTimeoutMs: 800, pollMs: 100 });
  const f = await failure(r.result);
  expect(f.type).toBe(PROJECTION_STALLED);
  expect((r.heartbeats as CatchUpHeartbeat[])[0].summary).toMatch(/no reading yet: .*no_such_db/);
});

test('a setting the store contradicts fails the watch at once, naming the setting, without waiting for stallTimeout', async () => {
  const misread = createProjectionActivities({ access: () => ({ ...access, catchUp: { preset: 'axon', naming: 'jpa', tokenStorage: 'bytea' } }), pools, pollMs: 100 });
  const r = run(misread.watchCatchUp, { target: 't', release: 'v5', processor: 'orders-v2', policy, stallTimeoutMs: 600_000, pollMs: 100 });
  const f = await failure(r.result);
  expect(f.type).toBe('CatchUpSourceUnsupported');
  expect(f.nonRetryable).toBe(true);
  expect(f.message).toMatch(/token_entry\.token is oid .* but catchUp\.tokenStorage is bytea: set catchUp\.tokenStorage to largeObject/);
});

test("plan's check of the catch-up source: passes on the store, leaves a store that does not answer to the watch, fails on a contradicting setting", async () => {
  expect(await run(activities().checkCatchUpSource, { target: 't', release: 'v1' }).result).toEqual({ checked: true });
  const down = createProjectionActivities({ access: () => ({ ...access, eventStoreUrl: pg.url('no_such_db') }), pools, pollMs: 100 });
  expect(await run(down.checkCatchUpSource, { target: 't', release: 'v1' }).result).toMatchObject({ checked: false, error: expect.stringContaining('no_such_db') });
  const misread = createProjectionActivities({ access: () => ({ ...access, catchUp: { preset: 'axon', naming: 'jpa', tokenStorage: 'bytea' } }), pools, pollMs: 100 });
  expect(await failure(run(misread.checkCatchUpSource, { target: 't', release: 'v1' }).result)).toMatchObject({ type: 'CatchUpSourceUnsupported', nonRetryable: true });
});

test("a release's database and role: created once, usable with the derived password, dropped while connected, dropped again", async () => {
  const a = activities();
  const input = { target: 'orders-view', release: 'orders-view-2-1-0' };
  expect(await run(a.ensureReleaseDatabase, input).result).toEqual({ database: 'orders_view_2_1_0', role: 'orders_view_2_1_0', created: true });
  expect((await run(a.ensureReleaseDatabase, input).result).created).toBe(false);
  const url = `postgres://orders_view_2_1_0:${encodeURIComponent(releaseRolePassword(SECRET, 'orders_view_2_1_0'))}@127.0.0.1:${pg.port}/orders_view_2_1_0`;
  const service = new Client({ connectionString: url });
  service.on('error', () => undefined); // the drop closes it
  await service.connect();
  await service.query('CREATE TABLE read_model (id TEXT PRIMARY KEY)');
  expect(await run(a.dropReleaseDatabase, input).result).toEqual({ database: 'orders_view_2_1_0', dropped: true });
  expect(await run(a.dropReleaseDatabase, input).result).toEqual({ database: 'orders_view_2_1_0', dropped: false });
  const { rowCount } = await store.query("SELECT 1 FROM pg_roles WHERE rolname = 'orders_view_2_1_0'");
  expect(rowCount).toBe(0);
  await service.end().catch(() => undefined);
});

describe('ownership of release databases (PostgreSQL comments)', () => {
  const comments = async (name: string) => {
    const { rows } = await store.query<{ role: string | null; db: string | null }>(
      `SELECT (SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1) AS role,
              (SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1) AS db`,
      [name],
    );
    return rows[0]!;
  };
  const databases = async () => (await store.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname);

  test("green's role and database record the upgrade; blue's, made by the user, is adopted first; the target lists both", async () => {
    await withClient(pg.url(), (c) => ensureReleaseDatabase(c, 'shop_1_4_0', SECRET));
    const a = activities();
    await run(a.ensureReleaseDatabase, { target: 'shop', release: 'shop-2-0-0', owner: 'shop.u1', adopt: 'shop-1-4-0' }).result;
    const green = 'cutover-owner {"target":"shop","upgrade":"shop.u1","release":"shop-2-0-0"}';
    expect(await comments('shop_2_0_0')).toEqual({ role: green, db: green });
    const adopted = 'cutover-owner {"target":"shop","adoptedBy":"shop.u1"}';
    expect(await comments('shop_1_4_0')).toEqual({ role: adopted, db: adopted });
    // a retry changes nothing
    expect((await run(a.ensureReleaseDatabase, { target: 'shop', release: 'shop-2-0-0', owner: 'shop.u1', adopt: 'shop-1-4-0' }).result).created).toBe(false);

    const listed = await projectionReleaseResources(() => access).list('shop', ['shop-1-4-0']);
    expect(listed.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: 'shop-1-4-0', owner: { target: 'shop', adoptedBy: 'shop.u1' }, weight: 0, objects: ['database shop_1_4_0'] },
      { name: 'shop-2-0-0', owner: { target: 'shop', upgrade: 'shop.u1' }, weight: 0, objects: ['database shop_2_0_0'] },
    ]);
    expect(await projectionReleaseResources(() => access).list('other', [])).toEqual([]);
  });

  test.each([
    ['another target\'s', async (c: Client): Promise<unknown> => ensureReleaseDatabase(c, 'cart_3_0_0', SECRET, { owner: { target: 'cart-view', upgrade: 'cart-view.u9' }, release: 'cart-3-0-0' }), "belongs to target 'cart-view' (created by upgrade cart-view.u9), not to target 'cart'"],
    ['nobody\'s (made by hand)', async (c: Client): Promise<unknown> => c.query('CREATE DATABASE cart_3_0_0'), "carries no owner mark: it was not created by cutover for target 'cart'"],
  ])('a database of green\'s name that is %s: refused before anything changes (blue not adopted), and a drop leaves it', async (_who, make, why) => {
    await withClient(pg.url(), (c) => ensureReleaseDatabase(c, 'cart_1_0_0', SECRET));
    await withClient(pg.url(), make as (c: Client) => Promise<unknown>);
    const before = await comments('cart_3_0_0');
    const a = activities();
    const clash = await failure(run(a.ensureReleaseDatabase, { target: 'cart', release: 'cart-3-0-0', owner: 'cart.u1', adopt: 'cart-1-0-0' }).result);
    expect(clash.type).toBe('NotOwned');
    expect(clash.message).toBe(`database cart_3_0_0 ${why}; cutover leaves it as it is`);
    expect(await comments('cart_1_0_0')).toEqual({ role: null, db: null });
    // the rollback's undo of prepare
    expect(await run(a.dropReleaseDatabase, { target: 'cart', release: 'cart-3-0-0', owner: 'cart.u1' }).result).toEqual({
      database: 'cart_3_0_0',
      dropped: false,
      left: `database cart_3_0_0 ${why}; cutover leaves it as it is`,
    });
    expect(await databases()).toContain('cart_3_0_0');
    expect(await comments('cart_3_0_0')).toEqual(before);
    await store.query('DROP DATABASE cart_3_0_0');
    await store.query('DROP ROLE IF EXISTS cart_3_0_0');
  });
});
