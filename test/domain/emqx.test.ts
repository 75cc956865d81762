import { GlobalStatus, mismatch, NodeList, type RunningNode } from '../../src/domain/emqx/answers';
import { apiShape, planDrain, versionProblem } from '../../src/domain/emqx/versions';
import { assessCluster, describeHealth, drainOrder, emqxNodeName, nodeOrdinal } from '../../src/domain/emqx/cluster';

const running = (node: string): RunningNode => ({ node, node_status: 'running', version: '5.8.0', edition: 'Enterprise', role: 'core', connections: 0, live_connections: 0, uptime: 1000 });

describe('cluster health', () => {
  test('healthy only when every expected node is a running member', () => {
    const listed = [running('emqx@b-0'), running('emqx@g-0'), { node: 'emqx@g-1', node_status: 'stopped' as const, role: 'core' as const }];
    const h = assessCluster(['emqx@g-0', 'emqx@g-1', 'emqx@g-2'], listed);
    expect(h.healthy).toBe(false);
    expect(h.nodes).toEqual([
      { node: 'emqx@g-0', member: true, status: 'running', version: '5.8.0', role: 'core', uptimeMs: 1000 },
      { node: 'emqx@g-1', member: true, status: 'stopped', version: null, role: 'core', uptimeMs: null },
      { node: 'emqx@g-2', member: false, status: 'absent', version: null, role: null, uptimeMs: null },
    ]);
    expect(h.members).toEqual(['emqx@b-0', 'emqx@g-0', 'emqx@g-1']);
    expect(describeHealth(h)).toBe('1/3 nodes running members; waiting for emqx@g-1 (stopped), emqx@g-2 (absent)');

    const ok = assessCluster(['emqx@g-0'], listed);
    expect(ok.healthy).toBe(true);
    expect(describeHealth(ok)).toBe('all 1 nodes running members of the cluster');
  });
});

describe('drain order', () => {
  test('ordinal of a node is the trailing number of its pod name', () => {
    expect(nodeOrdinal('emqx@emqx-core-12.emqx-headless.mqtt.svc.cluster.local')).toBe(12);
    expect(nodeOrdinal('emqx@10.0.0.7')).toBe(-1);
    expect(nodeOrdinal('emqx@emqx-replicant-7d9f-xk2p')).toBe(-1);
  });

  test('replicants oldest first, then cores highest ordinal first', () => {
    const order = drainOrder([
      { node: 'emqx@core-0.h', role: 'core', uptimeMs: 900 },
      { node: 'emqx@core-2.h', role: 'core', uptimeMs: 100 },
      { node: 'emqx@core-1.h', role: 'core', uptimeMs: 500 },
      { node: 'emqx@rep-abc.h', role: 'replicant', uptimeMs: 10 },
      { node: 'emqx@rep-def.h', role: 'replicant', uptimeMs: 50 },
    ]);
    expect(order).toEqual(['emqx@rep-def.h', 'emqx@rep-abc.h', 'emqx@core-2.h', 'emqx@core-1.h', 'emqx@core-0.h']);
  });

  test('a node of unknown role counts as a core', () => {
    expect(drainOrder([{ node: 'emqx@x-0', role: null, uptimeMs: null }, { node: 'emqx@x-1', role: 'core', uptimeMs: null }])).toEqual(['emqx@x-1', 'emqx@x-0']);
  });
});

describe('node names as the EMQX Operator forms them', () => {
  test('a core by pod name and headless Service, a replicant by pod IP (none while the pod has no IP)', () => {
    const core = 'emqx@{pod}.emqx-headless.{namespace}.svc.cluster.local';
    expect(emqxNodeName(core, { name: 'emqx-core-0' }, 'mqtt')).toBe('emqx@emqx-core-0.emqx-headless.mqtt.svc.cluster.local');
    expect(emqxNodeName('emqx@{podIP}', { name: 'emqx-replicant-7d9f-xk2p', ip: '10.0.1.7' })).toBe('emqx@10.0.1.7');
    expect(emqxNodeName('emqx@{podIP}', { name: 'emqx-replicant-7d9f-xk2p' })).toBeNull();
  });
});

describe('the support matrix', () => {
  const oss = (version: string) => ({ version, edition: 'Opensource' as const });
  const ee = (version: string) => ({ version, edition: 'Enterprise' as const });

  test('a version outside 5.1.0 to 5.10.x is refused with what it lacks and what to do', () => {
    expect(versionProblem('5.8.0')).toBeUndefined();
    expect(versionProblem('5.1.0')).toBeUndefined();
    expect(versionProblem('5.10.4')).toBeUndefined();
    expect(versionProblem('5.0.26')).toMatch(/^EMQX 5\.0\.26 is outside cutover's support matrix \(5\.1\.0 to 5\.10\.x\): before 5\.1\.0 the REST API lists no live connections per node.*upgrade to 5\.1 or later with a rolling update first$/);
    expect(versionProblem('4.4.19')).toMatch(/outside cutover's support matrix/);
    expect(versionProblem('5.11.0')).toMatch(/newer than cutover's support matrix.*checked up to e5\.10\.4/);
    expect(versionProblem('latest')).toBe("'latest' is not an EMQX version such as 5.8.0");
  });

  test('evacuation: Enterprise from 5.1, every build from 5.9; both releases must have it', () => {
    expect(planDrain([ee('5.7.0')], '5.8.0', 'auto')).toEqual({ mode: 'evacuation' });
    expect(planDrain([oss('5.7.0')], '5.8.0', 'auto')).toEqual({ mode: 'pod-removal' });
    // 5.9 is Enterprise whatever the image, but an open source blue cannot be evacuated: its nodes lack the app
    expect(planDrain([oss('5.8.9')], '5.9.0', 'auto')).toEqual({ mode: 'pod-removal' });
    expect(planDrain([oss('5.9.1')], '5.10.0', 'auto')).toEqual({ mode: 'evacuation' });
    expect(planDrain([ee('5.8.0')], '5.9.0', 'pod-removal')).toEqual({ mode: 'pod-removal' });
  });

  test('open source 5.8 with evacuation asked for is refused, naming the version, the feature and what to do', () => {
    const refused = planDrain([oss('5.8.0')], '5.8.1', 'evacuation');
    expect(refused).toEqual({
      problem: expect.stringMatching(
        /^options\.emqx\.drain is 'evacuation', but blue runs EMQX 5\.8\.0 \(Opensource\), which has no node evacuation: it is Enterprise-only before 5\.9 .*Leave options\.emqx\.drain out .*upgrade to 5\.9 or later first$/,
      ),
    });
    expect(planDrain([ee('5.0.26')], '5.8.0', 'auto')).toEqual({ problem: expect.stringMatching(/^blue: EMQX 5\.0\.26 is outside/) });
  });

  test('what differs between supported versions, by the contract each falls in', () => {
    expect(['5.1.0', '5.1.6', '5.3.2', '5.5.1', '5.8.9', '5.10.4'].map((v) => apiShape(v).contract)).toEqual(['5.1.0', '5.1.1', '5.2.0', '5.4.0', '5.6.0', '5.9.0']);
    expect(apiShape('5.1.0')).toMatchObject({ waitTakeover: 'pos_integer', purges: false, busyRefusedAtStart: false, clusterSessions: false });
    expect(apiShape('5.10.4')).toMatchObject({ waitTakeover: 'duration', purges: true, busyRefusedAtStart: true, clusterSessions: true });
  });
});

describe('answers read by their schema', () => {
  test('a mismatch names the field and what was found; fields cutover does not read pass', () => {
    const node = { ...running('emqx@a'), load1: 0.4, cluster_sessions: 3 };
    expect(mismatch(NodeList, [node, { node: 'emqx@b', node_status: 'stopped', role: 'core' }])).toBeUndefined();
    expect(mismatch(NodeList, [{ ...node, live_connections: '3' }])).toBe('[0].live_connections: expected integer, found "3"');
    // EMQX 5.0.0 printed 'Stopped' and `name`
    expect(mismatch(NodeList, [{ name: 'emqx@b', node_status: 'Stopped' }])).toBe('[0].node_status: expected one of "running", "stopped", found "Stopped"');
    expect(mismatch(GlobalStatus, { evacuations: [{ node: 'emqx@a', state: 'evicting_conns' }], rebalances: [] })).toBe('evacuations[0].connection_eviction_rate is missing');
    expect(mismatch(GlobalStatus, 'Bad Gateway')).toBe('(the body): expected object, found "Bad Gateway"');
  });
});
