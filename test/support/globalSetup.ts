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
  const [server, bundle] = await Promise.all([
    startDevServer({ port: await freePort() }),
    bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quietLogger }),
  ]);
  globalThis.__CUTOVER_DEV_SERVER__ = server;
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  process.env.CUTOVER_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.CUTOVER_TEST_WORKFLOW_BUNDLE = bundlePath;
}

const noop = (): void => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };
