/** A sandbox kind for tests of the generic local sandbox: HTTP echo nodes behind one weighted nginx http upstream. */
import { join } from 'node:path';
import { startSandboxProcess } from '../../src/sandbox/process';
import type { SandboxKind } from '../../src/sandbox/localSandbox';

export function echoSandbox(ports: { http: number }, logDir: string): SandboxKind {
  return {
    imageOf: (version) => `test/echo:${version}`,
    nodePorts: ['http'],
    metrics: { port: 'http', path: '/metrics' },
    start: async () => undefined,
    stop: async () => undefined,
    startNode: async (spec) => {
      const p = await startSandboxProcess({
        label: `echo node ${spec.pod}`,
        script: join(__dirname, 'echoNode.ts'),
        args: [spec.pod, spec.release, String(spec.ports.http)],
        logFile: join(logDir, `${spec.pod}.log`),
      });
      return { version: spec.version, process: p.process, stop: p.stop };
    },
    traffic: { name: 'echo', port: 'http' },
    routes: () => ({ streams: [], http: [{ name: 'echo', listen: ports.http, directives: [] }] }),
    describe: () => `HTTP http://127.0.0.1:${ports.http}`,
  };
}
