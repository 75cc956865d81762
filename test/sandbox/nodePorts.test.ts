/**
 * A sandbox node's ports are chosen free, then taken by its process a moment
 * later; another process may take one in between. The local sandbox then
 * gives that node new ports, keeps them in its state, and routes to them.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TargetConfig } from '../../src/config/targets';
import type { LocalState } from '../../src/domain/platform';
import { releaseName } from '../../src/domain/upgrade';
import { freePort } from '../../src/runtime/freePort';
import { LocalSandbox, type SandboxKind } from '../../src/sandbox/localSandbox';
import { echoSandbox } from '../support/echoSandbox';

const squatters: Server[] = [];
let sandbox: LocalSandbox | undefined;
afterAll(async () => {
  await sandbox?.stop();
  for (const s of squatters) s.close();
});

test('a node whose port was taken before it listened starts on new ports, kept in the state and routed to', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cutover-node-ports-'));
  const port = await freePort();
  const target = { name: 'web', kind: 'emqx', local: { cluster: 'web', version: '1.0.0', replicas: 1, ports: { http: port, status: await freePort() } } } as TargetConfig;
  const echo = echoSandbox({ http: port }, join(dataDir, 'logs'));
  const taken: number[] = [];
  // another process takes the node's port between the choice and the node's listen, once
  const kind: SandboxKind = {
    ...echo,
    startNode: async (spec) => {
      if (taken.length === 0) {
        taken.push(spec.ports.http!);
        const squatter = createServer();
        squatters.push(squatter);
        await new Promise<void>((r) => squatter.listen(spec.ports.http, '127.0.0.1', r));
      }
      return echo.startNode(spec);
    },
  };
  sandbox = new LocalSandbox({ target: 'web', placement: target.local!, dataDir, kind });
  await sandbox.start();

  const state = JSON.parse(readFileSync(join(dataDir, 'sandbox', 'web', 'state.json'), 'utf8')) as LocalState;
  const nodePort = Object.values(state.releases)[0]!.ports[0]!.http!;
  expect(taken).toHaveLength(1);
  expect(nodePort).not.toBe(taken[0]);
  // nginx routes to the node on its new port
  const answer = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
  expect(answer).toContain(`${releaseName('web', '1.0.0')}-0`);
}, 60_000);
