/**
 * The event-sourced sandbox end to end on the local platform: the shipped
 * workflow, the real activities, the API listening (the releases long-poll
 * their phase and report ready through it), PostgreSQL with an Axon store
 * the producer keeps appending to, nginx in front of the serving release,
 * and a client querying through nginx the whole time.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { CatchUpHeartbeat } from '../../../../src/domain/projection/catchUp';
import { releaseDatabaseName } from '../../../../src/domain/projection/naming';
import { releaseName } from '../../../../src/domain/upgrade';
import { call } from '../../../api/harness';
import { connectSharedServer, eventually } from '../../../support/temporal';
import { queryLoad, releaseDatabases, startProjectionStack } from '../../../support/projectionStack';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await connectSharedServer();
});
afterAll(async () => {
  await env?.teardown();
});

const OPTIONS = { approval: 'auto', projection: { poll: '250ms', hold: '2s', maxLag: 300, stallAfter: '3s', stallTimeout: '12s' } };

test('upgrade over a growing store: lag, rate and ETA while green builds, no failed query, blue dropped after the standby window', async () => {
  const stack = await startProjectionStack(env, 500_000);
  const load = queryLoad(stack.queryUrl);
  try {
    const blue = releaseName(stack.name, '1.4.0');
    const green = releaseName(stack.name, '2.0.0');
    await eventually(async () => load.answers.some((a) => a.status === 200 && a.release === blue));
    const started = await call(stack.app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: stack.name, version: '2.0.0', options: { ...OPTIONS, standbyWindow: '6s' } } });
    expect(started.status).toBe(201);
    const id = started.json.id as string;
    const seen: { at: number; catchUp?: CatchUpHeartbeat; status: string; step: string }[] = [];
    let standByAt = 0;
    let blueKeptInStandBy = false; // blue's database is still there during the window
    await eventually(async () => {
      const s = (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
      seen.push({ at: Date.now(), catchUp: s.details?.catchUp, status: s.status, step: s.step });
      if (!standByAt && s.step === 'standBy') standByAt = Date.now();
      if (s.step === 'standBy') blueKeptInStandBy ||= (await releaseDatabases(stack)).includes(releaseDatabaseName(blue));
      return ['SUCCEEDED', 'ROLLED_BACK', 'FAILED'].includes(s.status) ? s : undefined;
    }, 180_000);
    const final = (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
    expect(final.status).toBe('SUCCEEDED');

    // the catch-up as a user saw it through the API while green built
    const building = seen.filter((s) => s.catchUp?.progress && s.catchUp.progress.lag > 300);
    expect(building.length).toBeGreaterThan(3);
    const at10 = building.find((s) => s.catchUp!.progress!.position >= 0.1 * s.catchUp!.progress!.head && s.catchUp!.progress!.etaMs !== undefined)!;
    const caughtUp = seen.find((s) => s.at > at10.at && (s.catchUp?.progress?.lag ?? Infinity) <= 300) ?? seen.find((s) => s.at > at10.at && s.step !== 'waitReady')!;
    const predicted = at10.catchUp!.progress!.etaMs!;
    const actual = caughtUp.at - at10.at;
    console.log(`ETA at 10%: ${predicted} ms predicted, ${actual} ms actual (${Math.round((100 * (predicted - actual)) / actual)}%); ` +
      `rate ${Math.round(at10.catchUp!.progress!.rate)} events/s; ${at10.catchUp!.summary}; ` +
      `${load.answers.length} queries, ${load.errors().length} failed`);
    // the ETA counts down as green builds; how close it comes to the real time is measured by
    // `npm run demo -- --target sandbox-projection` (README), not here, where the machine's load decides it
    expect(predicted).toBeGreaterThan(0);
    const later = seen.filter((s) => s.at > at10.at && s.catchUp?.progress?.etaMs !== undefined).map((s) => s.catchUp!.progress!.etaMs!);
    expect(Math.min(...later)).toBeLessThan(predicted);

    // blue answered until the switch, green after it, nothing failed
    await new Promise((r) => setTimeout(r, 500));
    expect(load.errors()).toEqual([]);
    const firstGreen = load.answers.findIndex((a) => a.release === green);
    expect(firstGreen).toBeGreaterThan(0);
    expect(load.answers.slice(firstGreen).every((a) => a.release === green)).toBe(true);
    expect(standByAt).toBeGreaterThan(0);
    expect(blueKeptInStandBy).toBe(true);
    expect(await releaseDatabases(stack)).not.toContain(releaseDatabaseName(blue));
    expect(await releaseDatabases(stack)).toContain(releaseDatabaseName(green));
  } finally {
    await load.stop();
    await stack.stop();
  }
}, 240_000);

test('rollback during STANDING_BY: blue answers again at once, with what was appended after the switch; green is dropped', async () => {
  const stack = await startProjectionStack(env, 100_000);
  const load = queryLoad(stack.queryUrl);
  try {
    const blue = releaseName(stack.name, '1.4.0');
    const green = releaseName(stack.name, '2.0.0');
    await eventually(async () => load.answers.some((a) => a.status === 200 && a.release === blue));
    const started = await call(stack.app, 'POST', '/v1/upgrades', { as: 'operator', body: { kind: 'projection', target: stack.name, version: '2.0.0', options: { ...OPTIONS, standbyWindow: '10m' } } });
    const id = started.json.id as string;
    await eventually(async () => (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json.step === 'standBy', 120_000);
    const switchedAt = Date.now();
    const bluePort = await stack.sandbox.read((s) => s.releases[blue].ports[0].query);
    const blueStatus = async () => (await (await fetch(`http://127.0.0.1:${bluePort}/status`)).json()) as { phase: string; position: number; head: number };
    const atSwitch = await blueStatus();
    await new Promise((r) => setTimeout(r, 3000)); // the producer appends while blue stands by
    const standingBy = await blueStatus();
    expect(standingBy.phase).toBe('STANDING_BY');
    expect(standingBy.position).toBeGreaterThan(atSwitch.head); // still processing

    const asked = Date.now();
    const rolled = await call(stack.app, 'POST', `/v1/upgrades/${id}/rollback`, { as: 'operator', body: { reason: 'test' } });
    expect(rolled.status).toBe(200);
    const firstBlue = await eventually(async () => load.answers.find((a) => a.at >= asked && a.release === blue && a.status === 200), 30_000);
    console.log(`rollback: first query answered by blue ${firstBlue.at - asked} ms after the request; blue at ${standingBy.position}, ${standingBy.position - atSwitch.head} events past the head at the switch`);
    await eventually(async () => ['ROLLED_BACK', 'FAILED'].includes((await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json.status), 60_000);
    const final = (await call(stack.app, 'GET', `/v1/upgrades/${id}`, { as: 'viewer' })).json;
    expect(final.status).toBe('ROLLED_BACK');
    expect(final.releases.blue.phase).toBe('SERVING');
    expect(final.releases.green.phase).toBe('OBSOLETE');
    expect((await blueStatus()).phase).toBe('SERVING');
    expect(await releaseDatabases(stack)).not.toContain(releaseDatabaseName(green));
    await new Promise((r) => setTimeout(r, 500));
    console.log(`rollback test: ${load.answers.length} queries, failed at ${JSON.stringify(load.errors().map((e) => e.at - asked))} ms from the rollback request; switch at ${switchedAt - asked}`);
    expect(load.errors()).toEqual([]);
  } finally {
    await load.stop();
    await stack.stop();
  }
}, 240_000);
