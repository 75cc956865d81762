/**
 * One Temporal dev server for the whole suite (the SDK's own launcher gives a
 * dev server only 5 s to start), the test workflow bundle built once, and,
 * when a selected test file needs it, one Kubernetes control plane.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '@jest/types';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../src/embedded/devServer';
import { freePort } from '../../src/runtime/freePort';
import { projectRoot } from '../../src/runtime/binaries';

import { startControlPlane, type ControlPlane } from './kubeControlPlane';
import { KUBE_ENV } from './kube';

declare global {
  var __CUTOVER_DEV_SERVER__: DevServer | undefined;
  var __CUTOVER_CONTROL_PLANE__: ControlPlane | undefined;
}

export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  const dir = join(projectRoot, '.data', 'test');
  mkdirSync(dir, { recursive: true });
  const [server, scripted, production] = await Promise.all([
    needsKubernetes(globalConfig) ? startKubernetes() : undefined,
    startDevServer({ port: await freePort() }),
    bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quietLogger }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quietLogger }),
  ]).then(([, ...rest]) => rest);
  globalThis.__CUTOVER_DEV_SERVER__ = server;
  process.env.CUTOVER_TEST_TEMPORAL_ADDRESS = server.address;
  // the skeleton with the scripted strategy, and the workflows exactly as the worker ships them
  process.env.CUTOVER_TEST_WORKFLOW_BUNDLE = join(dir, 'workflow-bundle.js');
  process.env.CUTOVER_WORKFLOW_BUNDLE = join(dir, 'production-bundle.js');
  writeFileSync(process.env.CUTOVER_TEST_WORKFLOW_BUNDLE, scripted.code);
  writeFileSync(process.env.CUTOVER_WORKFLOW_BUNDLE, production.code);
}

async function startKubernetes(): Promise<void> {
  const plane = await startControlPlane();
  globalThis.__CUTOVER_CONTROL_PLANE__ = plane;
  process.env[KUBE_ENV.url] = plane.url;
  process.env[KUBE_ENV.token] = plane.token;
}

/** A file needs the control plane if it uses test/support/kube; a run that selects none of them does not start one. */
function needsKubernetes(config: Config.GlobalConfig): boolean {
  const testDir = join(projectRoot, 'test');
  const files = (readdirSync(testDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.test.ts')).map((f) => join(testDir, f));
  const selected = config.testPathPatterns.isSet() ? files.filter((f) => config.testPathPatterns.toExecutor({ rootDir: config.rootDir }).isMatch(f)) : files;
  return selected.some((f) => /from '(\.\.\/)+support\/(kube|emqxOnKube)'/.test(readFileSync(f, 'utf8')));
}

const noop = (): void => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };
