/**
 * The replay corpus: histories of real runs (test/fixtures/histories,
 * recorded by test/support/recordHistories.ts) replayed against the bundles
 * as they are now, so a change that would break upgrades in flight fails
 * here. A change that must differ goes behind patched().
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { readHistoryFile } from '../support/historyFile';

const DIR = join(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
const BUNDLES = { scripted: 'CUTOVER_TEST_WORKFLOW_BUNDLE', shipped: 'CUTOVER_WORKFLOW_BUNDLE' } as const;

test('the corpus holds the four recorded runs', () => {
  expect(files.sort()).toEqual(['cancel-at-gate.scripted.json', 'emqx-local.shipped.json', 'happy-path.scripted.json', 'rollback-at-drainBlue.scripted.json']);
});

test.each(Object.keys(BUNDLES) as (keyof typeof BUNDLES)[])('the %s bundle replays its histories without nondeterminism', async (bundle) => {
  const mine = files.filter((f) => f.endsWith(`.${bundle}.json`));
  const histories = mine.map((f) => ({ workflowId: f, history: readHistoryFile(join(DIR, f)) }));
  const failures: string[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: process.env[BUNDLES[bundle]]! } }, histories)) {
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(mine.length).toBeGreaterThan(0);
});
