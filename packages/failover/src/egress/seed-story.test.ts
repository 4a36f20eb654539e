import { describe, expect, it } from 'vitest';
import { makeGateway, makeNode, makePolicy, makeTunnel } from '../testing/builders.js';
import { applyEgressChanges } from './apply-changes.js';
import { reconcileEgress } from './reconcile.js';
import type { EgressState } from './types.js';

// The upstream failover document's story: egw1 selects node1 and node2 (egress=true), node1 holds
// 10.6.1.56 / fd00::55 for default/policy1, node1's heartbeat stops, the EIP moves to node2.
const EVICTION = 3_000;
const config = { evictionTimeoutMs: EVICTION };

function seedState(): EgressState {
  return {
    gateways: [
      makeGateway('egw1', {
        clusterDefault: true,
        ipv4: ['10.6.1.55', '10.6.1.56'],
        ipv4DefaultEIP: '10.6.1.56',
        ipv6: ['fd00::55', 'fd00::56'],
        ipv6DefaultEIP: 'fd00::55',
        nodeList: [
          {
            name: 'node1',
            status: 'Ready',
            eips: [
              { ipv4: '10.6.1.56', ipv6: 'fd00::55', policies: [{ name: 'policy1', namespace: 'default' }] },
            ],
          },
          { name: 'node2', status: 'Ready' },
        ],
        ipUsage: { ipv4Total: 2, ipv4Free: 1, ipv6Total: 2, ipv6Free: 1 },
      }),
    ],
    tunnels: [makeTunnel('node1', 10_000), makeTunnel('node2', 10_000)],
    nodes: [makeNode('node1'), makeNode('node2')],
    policies: [
      {
        ...makePolicy('default', 'policy1'),
        status: { eip: { ipv4: '10.6.1.56', ipv6: 'fd00::55' }, node: 'node1' },
      },
    ],
    clusterPolicies: [],
  };
}

/** node2 keeps heartbeating (observed at `at`); node1 stays at its last heartbeat (10 000). */
function withNode2HeartbeatAt(state: EgressState, at: number): EgressState {
  return {
    ...state,
    tunnels: state.tunnels.map((t) => (t.tunnel.metadata?.name === 'node2' ? { ...t, observedAt: at } : t)),
  };
}

describe('seed story: node1 fails, 10.6.1.56 / fd00::55 moves to node2', () => {
  it('changes nothing while both nodes are healthy, and asks to wake just after the eviction deadline', () => {
    const r = reconcileEgress(seedState(), config, 10_500);
    expect(r.tunnels).toEqual([]);
    expect(r.gateways).toEqual([]);
    expect(r.policies).toEqual([]);
    expect(r.events).toEqual([]);
    expect(r.nextWakeAt).toBe(10_000 + EVICTION + 1);
  });

  it('does not move one millisecond before the eviction timeout has passed', () => {
    const state = withNode2HeartbeatAt(seedState(), 12_900);
    const r = reconcileEgress(state, config, 10_000 + EVICTION);
    expect(r.tunnels).toEqual([]);
    expect(r.gateways).toEqual([]);
    expect(r.nextWakeAt).toBe(10_000 + EVICTION + 1);
  });

  it('moves the pair to node2 at the first millisecond after the timeout, with from, to and why', () => {
    const state = withNode2HeartbeatAt(seedState(), 12_900);
    const r = reconcileEgress(state, config, 10_000 + EVICTION + 1);
    expect(r.tunnels).toEqual([
      { name: 'node1', phase: 'HeartbeatTimeout', reason: 'HeartbeatTimeout', overdueMs: 1 },
    ]);
    expect(r.gateways).toEqual([
      {
        name: 'egw1',
        nodeList: [
          { name: 'node1', status: 'HeartbeatTimeout' },
          {
            name: 'node2',
            status: 'Ready',
            eips: [
              { ipv4: '10.6.1.56', ipv6: 'fd00::55', policies: [{ name: 'policy1', namespace: 'default' }] },
            ],
          },
        ],
        ipUsage: { ipv4Total: 2, ipv4Free: 1, ipv6Total: 2, ipv6Free: 1 },
      },
    ]);
    expect(r.policies).toEqual([
      {
        kind: 'EgressPolicy',
        namespace: 'default',
        name: 'policy1',
        status: { eip: { ipv4: '10.6.1.56', ipv6: 'fd00::55' }, node: 'node2' },
      },
    ]);
    const moved = r.events.find((e) => e.reason === 'EIPMoved');
    expect(moved).toMatchObject({
      type: 'Warning',
      from: 'node1',
      to: 'node2',
      eip: { ipv4: '10.6.1.56', ipv6: 'fd00::55' },
    });
    expect(moved?.message).toContain('HeartbeatTimeout');
    const timeout = r.events.find((e) => e.reason === 'HeartbeatTimeout');
    expect(timeout?.message).toContain('update tunnel status to HeartbeatTimeout');
    // node2 was observed at 12 900, so it is the next deadline.
    expect(r.nextWakeAt).toBe(12_900 + EVICTION + 1);
  });

  it('changes nothing on the EIP when node1 recovers (no move-back), only node1 phase', () => {
    const moved = withNode2HeartbeatAt(seedState(), 12_900);
    const after = applyEgressChanges(moved, reconcileEgress(moved, config, 13_001));
    const recovered: EgressState = {
      ...after,
      tunnels: after.tunnels.map((t) => ({ ...t, observedAt: 14_000 })),
    };
    const r = reconcileEgress(recovered, config, 14_000);
    expect(r.tunnels).toEqual([{ name: 'node1', phase: 'Ready', reason: 'HeartbeatRecovered' }]);
    expect(r.policies).toEqual([]);
    expect(r.events.filter((e) => e.reason.startsWith('EIP'))).toEqual([]);
    // Only node1's status column changes in the gateway status; the EIP stays on node2.
    expect(r.gateways).toHaveLength(1);
    expect(r.gateways[0]?.nodeList.find((n) => n.name === 'node2')?.eips?.[0]?.ipv4).toBe('10.6.1.56');
    expect(r.gateways[0]?.nodeList.find((n) => n.name === 'node1')).toEqual({
      name: 'node1',
      status: 'Ready',
    });
  });

  it('a planned handover (draining) moves the EIP at once, before any eviction', () => {
    const state = seedState();
    const draining: EgressState = {
      ...state,
      tunnels: state.tunnels.map((t) => (t.tunnel.metadata?.name === 'node1' ? { ...t, draining: true } : t)),
    };
    const r = reconcileEgress(draining, config, 10_001);
    expect(r.tunnels).toEqual([]);
    expect(r.policies[0]?.status.node).toBe('node2');
    expect(r.events.find((e) => e.reason === 'EIPMoved')).toMatchObject({
      type: 'Normal',
      from: 'node1',
      to: 'node2',
    });
  });

  it('the eviction carries its detection delay: how long after the deadline the deciding call ran', () => {
    const state = withNode2HeartbeatAt(seedState(), 12_900);
    const r = reconcileEgress(state, config, 10_000 + EVICTION + 250);
    expect(r.tunnels).toEqual([
      { name: 'node1', phase: 'HeartbeatTimeout', reason: 'HeartbeatTimeout', overdueMs: 250 },
    ]);
  });

  it('keeps status.ipUsage current: a pool that grows (same placement) is a gateway write', () => {
    const state = seedState();
    const gw = state.gateways[0] as (typeof state.gateways)[number];
    const grown: EgressState = {
      ...state,
      gateways: [
        {
          ...gw,
          spec: {
            ...gw.spec,
            ippools: { ...gw.spec?.ippools, ipv4: ['10.6.1.55', '10.6.1.56', '10.6.1.57'] },
          },
        },
      ],
    };
    const r = reconcileEgress(grown, config, 10_500);
    expect(r.policies).toEqual([]);
    expect(r.gateways).toHaveLength(1);
    expect(r.gateways[0]?.nodeList).toEqual(gw.status?.nodeList);
    expect(r.gateways[0]?.ipUsage).toEqual({ ipv4Total: 3, ipv4Free: 2, ipv6Total: 2, ipv6Free: 1 });
    // Written, nothing is left to do.
    expect(reconcileEgress(applyEgressChanges(grown, r), config, 10_500).gateways).toEqual([]);
  });
});
