/**
 * `npm run bench`: every section in turn (BENCH_ONLY=a,b runs some), each
 * on real servers of its own. Writes bench/results/latest.json (sections not
 * run keep their last figures) and prints it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { IllegalStateError } from '@temporalio/common';
import { projectRoot } from '../src/runtime/binaries';
import type { BenchSection } from './section';
import { chaosBench } from './chaos';
import { emqxRollbackBench } from './emqxRollback';
import { historyBudgetBench } from './historyBudget';
import { kubernetesBench } from './kubernetes';
import { projectionBench } from './projection';
import { reactionBench } from './reaction';
import { skeletonBench } from './skeleton';
import { trafficPlanBench } from './trafficPlan';
import { weightsBench } from './weights';

const SECTIONS: BenchSection[] = [skeletonBench, reactionBench, kubernetesBench, trafficPlanBench, historyBudgetBench, weightsBench, emqxRollbackBench, projectionBench, chaosBench];

async function main(): Promise<void> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch (err) {
    // a section's helpers from the tests installed it as they were loaded (test/support/temporal.ts, at ERROR too)
    if (!(err instanceof IllegalStateError)) throw err;
  }
  const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
  const unknown = only?.filter((n) => !SECTIONS.some((s) => s.name === n)) ?? [];
  if (unknown.length) throw new Error(`BENCH_ONLY names no section: ${unknown.join(', ')} (sections: ${SECTIONS.map((s) => s.name).join(', ')})`);
  const file = join(projectRoot, 'bench', 'results', 'latest.json');
  const results: Record<string, unknown> = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  Object.assign(results, { date: new Date().toISOString(), node: process.version, cpus: cpus().length });
  for (const section of SECTIONS.filter((s) => !only || only.includes(s.name))) {
    process.stdout.write(`bench: ${section.name}\n`);
    results[section.name] = await section.run();
  }
  mkdirSync(join(projectRoot, 'bench', 'results'), { recursive: true });
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
