/**
 * What the CLI and the console show of an upgrade, from states as the API
 * answers them: the steps with their gates and the point of no return, the
 * traffic over time, and each kind's panel from what its strategy reports
 * (Kong's plan and list results from the pure functions its activities use,
 * a projection's catch-up from the arithmetic its watch heartbeats).
 */
import type { MigrationsStatus } from '../../src/domain/kong/answers';
import { listExitOf, listMeaning, planMigrations } from '../../src/domain/kong/migrations';
import { nextProgress, describeProgress, DEFAULT_CATCH_UP_POLICY } from '../../src/domain/projection/catchUp';
import type { TransitionRecord } from '../../src/domain/upgrade';
import { genericSections } from '../../src/view/evidence';
import { panelOf } from '../../src/view/panels';
import { stepMarks, stepProgress } from '../../src/view/steps';
import { trafficSeries } from '../../src/view/traffic';
import type { UpgradeView } from '../../src/view/upgradeView';

const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 12, 0, s)).toISOString();
const t = (s: number, what: TransitionRecord['what'], rest: Partial<TransitionRecord>): TransitionRecord => ({ at: at(s), what, by: 'cutover', why: 'next step', ...rest });

function upgrade(kind: string, o: Partial<UpgradeView> = {}): UpgradeView {
  return {
    upgradeId: 'orders.0b6f0000-0000-4000-8000-000000000000',
    kind: kind as UpgradeView['kind'],
    target: 'orders',
    version: '2.0.0',
    requestedBy: 'alice',
    startedAt: at(0),
    status: 'RUNNING',
    step: 'promote',
    waitingFor: 'step promote',
    releases: {
      blue: { name: 'orders-1', version: '1.0.0', role: 'blue', phase: 'SERVING', since: at(0) },
      green: { name: 'orders-2', version: '2.0.0', role: 'green', phase: 'INITIALISING', since: at(2) },
    },
    traffic: { blue: 100, green: 0 },
    approval: { mode: 'auto' },
    pointOfNoReturnPassed: false,
    compensations: [],
    transitions: [],
    details: {},
    execution: 'RUNNING',
    links: { self: '/v1/upgrades/orders.0b6f…' },
    ...o,
  };
}

describe('steps, gates and the point of no return', () => {
  test('each wait for approval is marked at its step with who let it go on; finalize is the point of no return', () => {
    const u = upgrade('emqx', {
      step: 'finalize',
      status: 'AWAITING_APPROVAL',
      transitions: [
        t(1, 'step', { to: 'gate' }),
        t(2, 'status', { from: 'RUNNING', to: 'AWAITING_APPROVAL', why: 'green is ready and verified' }),
        t(3, 'status', { from: 'AWAITING_APPROVAL', to: 'RUNNING', by: 'bob', why: 'approved before promote' }),
        t(4, 'step', { from: 'gate', to: 'finalize' }),
        t(5, 'status', { from: 'RUNNING', to: 'AWAITING_APPROVAL', why: 'approval before finalize' }),
      ],
    });
    const marks = stepMarks(u);
    expect(marks.find((m) => m.step === 'gate')).toMatchObject({ state: 'done', gates: [{ why: 'green is ready and verified', waiting: false, approvedBy: 'bob' }] });
    expect(marks.find((m) => m.step === 'finalize')).toMatchObject({ state: 'current', pointOfNoReturn: true, gates: [{ why: 'approval before finalize', waiting: true }] });
    expect(marks.filter((m) => m.pointOfNoReturn).map((m) => m.step)).toEqual(['finalize']);
    expect(marks.find((m) => m.step === 'cleanUpBlue')?.state).toBe('pending');
  });

  test('a rollback marks the step it stopped at; a manual approval announces the gate before it is reached', () => {
    expect(stepMarks(upgrade('emqx', { step: 'drainBlue', status: 'ROLLING_BACK' })).find((m) => m.step === 'drainBlue')?.state).toBe('stopped');
    expect(stepMarks(upgrade('emqx', { step: 'verify', approval: { mode: 'manual' } })).find((m) => m.step === 'gate')?.gates).toEqual([{ why: 'approval before promote', waiting: false }]);
  });

  test("during promote, the traffic plan's step and green's weight", () => {
    const u = upgrade('emqx', { traffic: { blue: 50, green: 50 }, trafficSteps: [{ weight: 10, startedAt: at(10), endedAt: at(20), analysis: [] }, { weight: 50, startedAt: at(20), analysis: [] }, { weight: 100, analysis: [] }] });
    expect(stepProgress(u)).toEqual({ fraction: 0.5, label: 'traffic step 2 of 3: green 50%' });
  });

  test('traffic over time: the plan steps, then back on blue as green left SERVING', () => {
    const u = upgrade('emqx', {
      status: 'ROLLED_BACK',
      endedAt: at(40),
      trafficSteps: [{ weight: 10, startedAt: at(10), endedAt: at(20), outcome: 'completed', analysis: [] }, { weight: 50, startedAt: at(20), endedAt: at(30), outcome: 'failed', analysis: [] }],
      transitions: [t(31, 'phase', { release: 'orders-2', from: 'SERVING', to: 'CLEANING_UP' })],
    });
    expect(trafficSeries(u).map((p) => [p.at.slice(17, 19), p.green])).toEqual([['00', 0], ['10', 10], ['20', 50], ['31', 0], ['40', 0]]);
  });
});

describe('EMQX: nodes per release, evacuations with connections left', () => {
  const evac = (node: string, state: string, now: number, initial = 40) => ({ node, state, stats: { initial_connected: initial, current_connected: now, initial_sessions: initial, current_sessions: now } });
  const u = upgrade('emqx', {
    step: 'drainBlue',
    details: {
      blueNodes: ['emqx@b0', 'emqx@b1'],
      greenNodes: ['emqx@g0', 'emqx@g1'],
      clusterHealth: { healthy: true, nodes: ['b0', 'b1', 'g0', 'g1'].map((n) => ({ node: `emqx@${n}`, member: true, status: 'running', role: 'core', version: '5.8.0', uptimeMs: 1 })), members: [] },
      nodeEvacuationsStatus: [evac('emqx@b0', 'prohibiting', 0)],
      // the running evacuation, from waitEvacuated's last heartbeat
      evacuating: evac('emqx@b1', 'evicting_conns', 10),
    },
  });

  test('the table, the line and the progress of the drain', () => {
    const [nodes] = panelOf('emqx').sections(u);
    expect(nodes.table!.rows.map((r) => r.map((c) => c.text))).toEqual([
      ['blue 1.0.0', 'emqx@b0', 'core', 'running', 'prohibiting', '0 / 40', '0 / 40'],
      ['blue 1.0.0', 'emqx@b1', 'core', 'running', 'evicting_conns', '10 / 40', '10 / 40'],
      ['green 2.0.0', 'emqx@g0', 'core', 'running', '—', '—', '—'],
      ['green 2.0.0', 'emqx@g1', 'core', 'running', '—', '—', '—'],
    ]);
    expect(panelOf('emqx').line(u)).toBe('evacuating emqx@b1: evicting_conns, connections 10 / 40, sessions 10 / 40');
    expect(panelOf('emqx').progress!(u)).toEqual({ fraction: (1 + 0.75) / 2, label: '1 of 2 blue nodes evacuated, emqx@b1 evicting_conns' });
  });
});

describe('Kong: migrations, weights with the measured error rate and latency, the gateways', () => {
  const core = (...migrations: string[]) => ({ subsystem: 'core', namespace: 'kong.db.migrations.core', migrations });
  const status = (s: Partial<MigrationsStatus>): MigrationsStatus => ({ needs_bootstrap: false, executed_migrations: [core('000_base')], ...s });
  const afterUp = status({ pending_migrations: [core('024_380_to_390')] });
  const u = upgrade('kong', {
    traffic: { blue: 90, green: 10 },
    waitingFor: 'promote: traffic step 1 of 3 (green 10%): analysis error-rate (10s)',
    trafficSteps: [
      {
        weight: 10,
        startedAt: at(10),
        analysis: [{ check: 'latency', phase: 'Successful', message: '2 of 2 successful', measurements: [{ at: at(12), phase: 'Successful', value: 41.5 }] }],
      },
    ],
    details: {
      migrationPlan: planMigrations(status({}), status({ new_migrations: [core('024_380_to_390')] }), { finishPending: false, blueVersion: '3.8.1', greenVersion: '3.9.3' }),
      migrations: [{ command: 'up', version: '3.9.3', ran: true, exitCode: 0, output: [], list: { exitCode: listExitOf(afterUp), meaning: listMeaning(listExitOf(afterUp)) } }],
      adminApi: { frozen: true, since: at(1), fingerprint: 'f00d' },
    },
  });

  test('what the panel shows, what is evidence, and its line', () => {
    const sections = panelOf('kong').sections(u);
    expect(sections.map((s) => [s.title, s.evidence ?? false])).toEqual([['Kong migrations', true], ['Kong traffic', true], ['Kong gateways', false]]);
    expect(sections[0].rows).toEqual([
      { label: 'plan', value: 'up: core 024_380_to_390' },
      { label: 'up (Kong 3.9.3)', value: `ran, exit 0; list: ${listMeaning(listExitOf(afterUp))}`, tone: 'ok' },
    ]);
    expect(sections[1].rows).toEqual([
      { label: 'weights', value: 'blue 90% · green 10%' },
      { label: "green's p99 latency", value: '41.5 ms' },
      { label: 'analysis in progress', value: u.waitingFor, tone: 'warn' },
    ]);
    expect(sections[2].rows).toEqual([{ label: 'Admin API', value: `writes frozen since ${at(1)}` }]);
    expect(panelOf('kong').line(u)).toBe(`migrations up done (${listMeaning(listExitOf(afterUp))}), green's p99 latency 41.5 ms`);
    // the generic evidence: every analysis result with its last value
    expect(genericSections(u)[0].table!.rows[0].map((c) => c.text)).toEqual(['traffic step 1 (10%)', 'latency', 'Successful', '41.5', '1', '2 of 2 successful']);
  });
});

describe('projection: the catch-up live and as it ended', () => {
  // the watch's arithmetic: 10,000 events to replay at 1,000/s while 100/s are appended
  const samples = [0, 1, 2, 3].map((s) => ({ at: Date.UTC(2026, 11, 1, 12, 0, s), head: 10_000 + 100 * s, position: 1_000 * s }));
  const progress = samples.reduce<ReturnType<typeof nextProgress> | undefined>((p, s) => nextProgress(p, s, DEFAULT_CATCH_UP_POLICY), undefined)!;

  test('lag, rates, ETA and the replay as the step progress', () => {
    const u = upgrade('projection', { step: 'waitReady', details: { catchUp: { progress, since: samples[0].at, summary: describeProgress(progress) } } });
    const [catchUp] = panelOf('projection').sections(u);
    expect(catchUp).toMatchObject({ title: 'Projection catch-up', evidence: true });
    expect(catchUp.rows![0]).toEqual({ label: 'lag', value: '7300 events (position 3000 of 10300)', tone: undefined });
    expect(catchUp.rows![1].value).toBe('1000 events/s processed, 100 events/s appended');
    expect(catchUp.rows![2]).toEqual({ label: 'ETA', value: '8s' });
    expect(panelOf('projection').line(u)).toBe(describeProgress(progress));
    expect(panelOf('projection').progress!(u)).toEqual({ fraction: 3000 / 10300, label: 'replayed 3000 of 10300 events, ETA 8s' });
  });

  test('a stall is shown as such, with no ETA', () => {
    const stalled = { ...progress, rate: 0, etaMs: undefined, stalledSince: samples[3].at };
    const rows = panelOf('projection').sections(upgrade('projection', { details: { catchUp: { progress: stalled, summary: describeProgress(stalled) } } }))[0].rows!;
    expect(rows).toContainEqual({ label: 'ETA', value: 'unknown (the lag does not shrink)' });
    expect(rows).toContainEqual({ label: 'stalled', value: `no progress since ${new Date(samples[3].at).toISOString()}`, tone: 'bad' });
  });

  test('a kind this client does not know shows no panel of its own', () => {
    expect(panelOf('cassandra').sections(upgrade('cassandra'))).toEqual([]);
  });
});
