/**
 * http checks in the real workflow with the real runAnalysis against a real
 * server: an answer that holds a secret where a number should be rolls the
 * upgrade back without the secret in its state or its history; a check that
 * points outside the worker's policy for its target rolls back at once,
 * naming the host, with nothing requested.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtInProviders, createAnalysisActivities } from '../../src/activities/analysis';
import { toAnalysisCheck } from '../../src/domain/analysis';
import { scriptedSuite } from '../support/scriptedSuite';
import { upgradeInput, upgradeResult } from '../support/temporal';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
let server: Server;
const hits: string[] = [];
const suite = scriptedSuite('http-check', async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: SECRET }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // the worker's policy: loopback for every target but one
  const activities = createAnalysisActivities({ providers: builtInProviders({ allowedHosts: (t) => (t.startsWith('closed') ? ['*.shop.svc'] : ['127.0.0.1']) }), heartbeatEveryMs: 200 });
  return { activities, close: () => new Promise<void>((r) => server.close(() => r())) };
});

const credentials = (field: string) =>
  toAnalysisCheck({ name: 'credentials', provider: 'http', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/latest/meta-data/iam/security-credentials/role`, jsonPath: `$.${field}`, successCondition: 'result == 1', consecutiveErrorLimit: 0 });

test("an answer with a secret where a number should be: rolled back, the secret nowhere in the state or the history", async () => {
  const input = upgradeInput();
  input.options.traffic = [{ weight: 10, analysis: [credentials('SecretAccessKey')] }, { weight: 100, analysis: [] }];
  const final = await upgradeResult(await suite.start(input));
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'promote', type: 'AnalysisError' });
  expect(final.trafficSteps![0].analysis[0].measurements.at(-1)).toMatchObject({ phase: 'Error', message: '$.SecretAccessKey is a string, not a number' });
  const history = await suite.env.client.workflow.getHandle(`upgrade-${input.target}`).fetchHistory();
  // payloads are base64 in the history: decode them all before looking
  const decoded = JSON.stringify(history).replace(/"data":"([^"]*)"/g, (_m, b64: string) => Buffer.from(b64, 'base64').toString());
  for (const text of [JSON.stringify(final), decoded]) {
    expect(text).toContain('SecretAccessKey is a string');
    expect(text).not.toContain(SECRET.slice(0, 12));
  }
});

test("a check outside the worker's policy for its target: rolled back at once, the host named, nothing requested", async () => {
  hits.length = 0;
  const input = upgradeInput({ target: `closed-${Date.now()}` });
  input.options.verifyAnalysis = [credentials('AccessKeyId')];
  const final = await upgradeResult(await suite.start(input));
  expect(final.status).toBe('ROLLED_BACK');
  expect(final.failure).toMatchObject({ step: 'verify', type: 'AnalysisForbidden' });
  expect(final.failure?.message).toMatch(/^http check credentials may not reach 127\.0\.0\.1:\d+: the policy of target closed-\d+ does not allow it \(policy\.httpHosts\)$/);
  expect(hits).toEqual([]);
});
