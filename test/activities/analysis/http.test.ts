/**
 * The http provider reaches only what its target's policy allows, against a
 * real HTTP server: a host outside httpHosts, and a permitted name that
 * resolves to a forbidden address, end the run at once; a redirect is not
 * followed; an answer past the size cap is cut; a field that is not a number
 * is described, never echoed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { builtInProviders, createAnalysisActivities } from '../../../src/activities/analysis';
import { HTTP_MAX_BODY_BYTES } from '../../../src/activities/analysis/http';
import { toAnalysisCheck, type AnalysisCheckInput } from '../../../src/domain/analysis';
import { exec, failure, run } from '../../support/activityHarness';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const vars = { target: 'shop', release: 'shop-2-0-0', blue: 'shop-1-0-0', green: 'shop-2-0-0' };
let server: Server;
let port: number;
const hits: string[] = [];
/** Bytes of the oversized answer the server had written when the client went away. */
let written = 0;
const HUGE = 16 * 1024 * 1024;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/redirect') return void res.writeHead(302, { location: '/metadata' }).end();
    if (req.url === '/metadata') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ SecretAccessKey: SECRET }));
    if (req.url === '/huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      written = 0;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < HUGE && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errorRate: 0.01 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((r) => server.close(r)));

/** Names resolved as the test says, so a name can point anywhere. */
const names: Record<string, string> = { 'shop.test': '127.0.0.1', 'metadata.test': '169.254.169.254', 'ten.test': '10.1.2.3' };
const lookup: LookupFunction = (hostname, options, callback) => {
  const address = names[hostname];
  if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
  if (options.all) return (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family: 4 }]);
  callback(null, address, 4);
};

const activities = (hosts: string[]) => createAnalysisActivities({ providers: builtInProviders({ allowedHosts: (t) => (t === 'shop' ? hosts : []), lookup }) });
const check = (url: string, over: Partial<AnalysisCheckInput> = {}) =>
  toAnalysisCheck({ name: 'smoke', provider: 'http', url, jsonPath: '$.errorRate', successCondition: 'result < 0.05', consecutiveErrorLimit: 0, ...over });

test('an allowed host answers', async () => {
  const r = await exec(activities(['127.0.0.1']).runAnalysis, { target: 'shop', check: check(`http://127.0.0.1:${port}/checks`), vars });
  expect(r).toMatchObject({ phase: 'Successful', measurements: [{ value: 0.01 }] });
});

test('a host outside the policy ends the run at once, naming the host and the policy; nothing is requested', async () => {
  hits.length = 0;
  const { runAnalysis } = activities(['*.shop.svc']);
  for (const url of [`http://127.0.0.1:${port}/metadata`, 'http://169.254.169.254/latest/meta-data/', `http://localhost:${port}/metadata`]) {
    const f = await failure(run(runAnalysis, { target: 'shop', check: check(url), vars }).result);
    expect(f).toMatchObject({ nonRetryable: true, type: 'AnalysisForbidden' });
    expect(f.message).toMatch(/^http check smoke may not reach .+: the policy of target shop does not allow it \(policy\.httpHosts\)$/);
  }
  // another target's policy is not this one's
  const other = await failure(run(activities(['127.0.0.1']).runAnalysis, { target: 'other', check: check(`http://127.0.0.1:${port}/checks`), vars }).result);
  expect(other.message).toContain('the policy of target other does not allow it');
  expect(hits).toEqual([]);
});

test('an allowed name that resolves to a forbidden address is refused on the connection; one that resolves to an allowed address answers', async () => {
  hits.length = 0;
  const { runAnalysis } = activities(['*.test', '10.0.0.0/8']);
  for (const host of ['metadata.test', 'shop.test']) {
    const f = await failure(run(runAnalysis, { target: 'shop', check: check(`http://${host}:${port}/metadata`), vars }).result);
    expect(f).toMatchObject({ nonRetryable: true, type: 'AnalysisForbidden' });
    expect(f.message).toMatch(new RegExp(`^http check smoke may not reach ${host.replace('.', '\\.')}:\\d+: ${host.replace('.', '\\.')} resolves to (169\\.254\\.169\\.254|127\\.0\\.0\\.1), an address that is not allowed`));
  }
  expect(hits).toEqual([]);
  // loopback named in the policy: the name may lead there
  const allowed = await exec(activities(['*.test', '127.0.0.1']).runAnalysis, { target: 'shop', check: check(`http://shop.test:${port}/checks`), vars });
  expect(allowed).toMatchObject({ phase: 'Successful', measurements: [{ value: 0.01 }] });
});

test('a redirect is not followed: an error measurement, and its target never requested', async () => {
  hits.length = 0;
  const { runAnalysis } = activities(['127.0.0.1']);
  for (const over of [{}, { jsonPath: undefined, successCondition: 'result == 200' }]) {
    const r = await exec(runAnalysis, { target: 'shop', check: check(`http://127.0.0.1:${port}/redirect`, over), vars });
    expect(r.phase).toBe('Error');
    expect(r.measurements[0].message).toMatch(/^HTTP 302 from 127\.0\.0\.1:\d+: redirects are not followed$/);
  }
  expect(hits).toEqual(['/redirect', '/redirect']);
});

test('an answer past the size cap is cut there: an error measurement, the rest never read', async () => {
  const r = await exec(activities(['127.0.0.1']).runAnalysis, { target: 'shop', check: check(`http://127.0.0.1:${port}/huge`), vars });
  expect(r.measurements[0]).toMatchObject({ phase: 'Error', message: `the answer is larger than ${HTTP_MAX_BODY_BYTES / 1024} KiB: it was cut there` });
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(written).toBeLessThan(HUGE);
});

test('a field that is not a number is described by its type: the answer never reaches the result', async () => {
  const r = await exec(activities(['127.0.0.1']).runAnalysis, { target: 'shop', check: check(`http://127.0.0.1:${port}/metadata`, { jsonPath: '$.SecretAccessKey' }), vars });
  expect(r.measurements[0]).toMatchObject({ phase: 'Error', message: '$.SecretAccessKey is a string, not a number' });
  expect(JSON.stringify(r)).not.toContain(SECRET.slice(0, 8));
});
