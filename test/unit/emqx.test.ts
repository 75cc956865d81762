import { assessCluster, describeHealth, drainOrder, nodeEvacuationsStatus, nodeOrdinal, type EmqxNodeInfo } from '../../src/domain/emqx/cluster';

const running = (node: string, over: Partial<EmqxNodeInfo> = {}): EmqxNodeInfo => ({ node, node_status: 'running', version: '5.8.0', role: 'core', uptime: 1000, ...over });

describe('cluster health', () => {
  test('healthy only when every expected node is a running member', () => {
    const listed = [running('emqx@b-0'), running('emqx@g-0'), { node: 'emqx@g-1', node_status: 'stopped', role: 'core' }];
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

describe('evacuation status in the operator shape', () => {
  test('picks the operator fields from global_status and drops the rest', () => {
    const global = {
      evacuations: [
        {
          node: 'emqx@b-2',
          state: 'evicting_conns',
          connection_eviction_rate: 100,
          session_eviction_rate: 50,
          connection_goal: 0,
          session_goal: 0,
          session_recipients: ['emqx@g-0'],
          coordinator_node: 'emqx@b-2',
          stats: { initial_connected: 10, current_connected: 4, initial_sessions: 12, current_sessions: 6, current_disconnected_sessions: 2 },
        },
      ],
      purges: [],
      rebalances: [],
    };
    expect(nodeEvacuationsStatus(global)).toEqual([
      {
        node: 'emqx@b-2',
        state: 'evicting_conns',
        connection_goal: 0,
        session_goal: 0,
        connection_eviction_rate: 100,
        session_eviction_rate: 50,
        session_recipients: ['emqx@g-0'],
        stats: { initial_connected: 10, current_connected: 4, initial_sessions: 12, current_sessions: 6 },
      },
    ]);
  });

  test('missing fields become zeros and empty lists; malformed answers give no entries', () => {
    expect(nodeEvacuationsStatus({ evacuations: [{ node: 'emqx@b-0' }, { state: 'prohibiting' }, null] })).toEqual([
      {
        node: 'emqx@b-0',
        state: 'disabled',
        connection_goal: 0,
        session_goal: 0,
        connection_eviction_rate: 0,
        session_eviction_rate: 0,
        session_recipients: [],
        stats: { initial_connected: 0, current_connected: 0, initial_sessions: 0, current_sessions: 0 },
      },
    ]);
    expect(nodeEvacuationsStatus(null)).toEqual([]);
    expect(nodeEvacuationsStatus({ evacuations: 'no' })).toEqual([]);
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
