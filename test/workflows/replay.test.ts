/**
 * The replay corpus: histories of real runs (test/fixtures/histories,
 * recorded by test/support/recordHistories.ts) replayed against the bundles
 * as they are now, so a change that would break upgrades in flight fails
 * here. A change that must differ goes behind patched(), and the corpus
 * keeps a run from before it (<name>-legacy) beside one recorded after it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { workerDefaults } from '../../src/runtime/workerDefaults';
import { readHistoryFile } from '../support/historyFile';

const DIR = join(__dirname, '../fixtures/histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
const BUNDLES = { scripted: 'CUTOVER_TEST_WORKFLOW_BUNDLE', shipped: 'CUTOVER_WORKFLOW_BUNDLE' } as const;

/** The recorded runs, in name order. */
const CORPUS = [
  'cancel-at-gate-legacy.scripted.json',
  'cancel-at-gate.scripted.json',
  'emqx-local-legacy.shipped.json',
  'emqx-local.shipped.json',
  'emqx-rollback-in-window-legacy.shipped.json',
  'emqx-rollback-in-window.shipped.json',
  'happy-path.scripted.json',
  'notifications.scripted.json',
  'rollback-at-drainBlue-legacy.scripted.json',
  'rollback-at-drainBlue.scripted.json',
];

test('the corpus holds the ten recorded runs', () => {
  expect(files.sort()).toEqual(CORPUS);
});

/** Each patched() of the workflows: runs recorded before it (that take the old branch) and after it. */
const PATCHES = {
  'emqx-blue-stands-by': {
    before: ['emqx-local-legacy.shipped.json'],
    after: ['emqx-local.shipped.json', 'emqx-rollback-in-window-legacy.shipped.json', 'emqx-rollback-in-window.shipped.json'],
  },
  'cancel-identity': { before: ['cancel-at-gate-legacy.scripted.json'], after: ['cancel-at-gate.scripted.json'] },
  // emqx-local, recorded past emqx-green-joined-at-once, lists the nodes in that one activity
  'emqx-nodes-at-once': {
    before: ['emqx-local-legacy.shipped.json', 'emqx-rollback-in-window-legacy.shipped.json'],
    after: ['emqx-rollback-in-window.shipped.json'],
  },
  'emqx-support-matrix': {
    before: ['emqx-local-legacy.shipped.json', 'emqx-rollback-in-window-legacy.shipped.json'],
    after: ['emqx-local.shipped.json', 'emqx-rollback-in-window.shipped.json'],
  },
  'state-memo': {
    before: ['cancel-at-gate-legacy.scripted.json', 'emqx-local-legacy.shipped.json', 'emqx-rollback-in-window-legacy.shipped.json', 'rollback-at-drainBlue-legacy.scripted.json'],
    after: ['cancel-at-gate.scripted.json', 'emqx-local.shipped.json', 'emqx-rollback-in-window.shipped.json', 'happy-path.scripted.json', 'notifications.scripted.json', 'rollback-at-drainBlue.scripted.json'],
  },
  'signed-steering': {
    before: ['emqx-rollback-in-window-legacy.shipped.json', 'rollback-at-drainBlue-legacy.scripted.json'],
    after: ['emqx-rollback-in-window.shipped.json', 'happy-path.scripted.json', 'notifications.scripted.json', 'rollback-at-drainBlue.scripted.json'],
  },
  'release-ownership': {
    before: ['cancel-at-gate-legacy.scripted.json', 'emqx-local-legacy.shipped.json', 'emqx-rollback-in-window-legacy.shipped.json', 'rollback-at-drainBlue-legacy.scripted.json'],
    after: ['cancel-at-gate.scripted.json', 'emqx-local.shipped.json', 'emqx-rollback-in-window.shipped.json', 'happy-path.scripted.json', 'notifications.scripted.json', 'rollback-at-drainBlue.scripted.json'],
  },
  // runs from before retry by time retried each call 3 times (options.maxAttempts), whatever the step's limit
  'retry-by-time': {
    before: ['cancel-at-gate-legacy.scripted.json', 'emqx-local-legacy.shipped.json', 'emqx-rollback-in-window-legacy.shipped.json', 'rollback-at-drainBlue-legacy.scripted.json'],
    after: ['cancel-at-gate.scripted.json', 'emqx-local.shipped.json', 'emqx-rollback-in-window.shipped.json', 'happy-path.scripted.json', 'notifications.scripted.json', 'rollback-at-drainBlue.scripted.json'],
  },
  // runs recorded before notifications: none subscribed, none schedules a delivery on replay
  notifications: {
    before: CORPUS.filter((f) => f !== 'notifications.scripted.json'),
    after: ['notifications.scripted.json'],
  },
  // verify read membership once, and a rollback stopped the evacuations of listed running blue nodes only
  // (emqx-local's verify took waitGreenJoined's reading, and it never rolled back: it asked neither)
  'emqx-membership-reread': {
    before: ['emqx-local-legacy.shipped.json', 'emqx-rollback-in-window-legacy.shipped.json'],
    after: ['emqx-rollback-in-window.shipped.json'],
  },
  // waitReady's five activities (green's pods, both releases' nodes, green's join, verify's health) as one
  'emqx-green-joined-at-once': {
    before: ['emqx-local-legacy.shipped.json', 'emqx-rollback-in-window-legacy.shipped.json', 'emqx-rollback-in-window.shipped.json'],
    after: ['emqx-local.shipped.json'],
  },
};

/** The patch ids a history's markers record, read from the JSON as the Temporal CLI writes it. */
function patchesOf(file: string): string[] {
  type Payload = { data: string };
  type Event = { markerRecordedEventAttributes?: { markerName: string; details: Record<string, { payloads: Payload[] }> } };
  const { events } = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { events: Event[] };
  return events
    .map((e) => e.markerRecordedEventAttributes)
    .filter((m) => m?.markerName === 'core_patch')
    .map((m) => (JSON.parse(Buffer.from(m!.details['patch-data']!.payloads[0]!.data, 'base64').toString()) as { id: string }).id);
}

test.each(Object.entries(PATCHES))("patched('%s'): the corpus replays runs from both sides of it", (id, { before, after }) => {
  expect(files.filter((f) => patchesOf(f).includes(id)).sort()).toEqual(after);
  for (const f of before) expect(files.includes(f) && !patchesOf(f).includes(id)).toBe(true);
});

test.each(Object.keys(BUNDLES) as (keyof typeof BUNDLES)[])('the %s bundle replays its histories without nondeterminism', async (bundle) => {
  const mine = files.filter((f) => f.endsWith(`.${bundle}.json`));
  const histories = mine.map((f) => ({ workflowId: f, history: readHistoryFile(join(DIR, f)) }));
  const failures: string[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: process.env[BUNDLES[bundle]]! }, ...workerDefaults() }, histories)) {
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(mine.length).toBeGreaterThan(0);
});
