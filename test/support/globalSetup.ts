/**
 * One Temporal dev server for the whole suite (the SDK's own launcher gives a
 * dev server only 5 s to start), and the test workflow bundle built once.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../src/runtime/devServer';
import { freePort } from '../../src/runtime/freePort';
import { projectRoot } from '../../src/runtime/binaries';

declare global {
  var __CUTOVER_DEV_SERVER__: DevServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const dir = join(projectRoot, '.data', 'test');
  mkdirSync(dir, { recursive: true });
  const [server, scripted, production] = await Promise.all([
    startDevServer({ port: await freePort() }),
    bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quietLogger }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quietLogger }),
  ]);
  globalThis.__CUTOVER_DEV_SERVER__ = server;
  process.env.CUTOVER_TEST_TEMPORAL_ADDRESS = server.address;
  // the skeleton with the scripted strategy, and the workflows exactly as the worker ships them
  process.env.CUTOVER_TEST_WORKFLOW_BUNDLE = join(dir, 'workflow-bundle.js');
  process.env.CUTOVER_WORKFLOW_BUNDLE = join(dir, 'production-bundle.js');
  writeFileSync(process.env.CUTOVER_TEST_WORKFLOW_BUNDLE, scripted.code);
  writeFileSync(process.env.CUTOVER_WORKFLOW_BUNDLE, production.code);
}

const noop = (): void => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };
