import { describe, expect, it } from 'vitest';
import { applyEgressChanges, type EgressState, egressWrites, reconcileEgress } from '../index.js';
import { makeGateway, makeNode, makePolicy, makeTunnel } from '../testing/index.js';

const config = { evictionTimeoutMs: 3_000 };

describe('egressWrites', () => {
  it('lists a failover as evictions (under a precondition), phases, gateways, then policies', () => {
    const state: EgressState = {
      gateways: [makeGateway('gw', { ipv4: ['198.18.0.10-198.18.0.11'], ipv4DefaultEIP: '198.18.0.10' })],
      nodes: ['n1', 'n2', 'n3'].map((n) => makeNode(n)),
      tunnels: [makeTunnel('n1', 0), makeTunnel('n2', 0), makeTunnel('n3', null, 'Pending')],
      policies: [makePolicy('ns', 'p', { gateway: 'gw' })],
      clusterPolicies: [],
    };
    const written = applyEgressChanges(state, reconcileEgress(state, config, 0));
    // n1 (holding the EIP) stops heartbeating; n2 goes on; n3 heartbeats for the first time.
    const later: EgressState = {
      ...written,
      tunnels: [
        written.tunnels[0] as EgressState['tunnels'][number],
        { ...(written.tunnels[1] as EgressState['tunnels'][number]), observedAt: 2_900 },
        { ...(written.tunnels[2] as EgressState['tunnels'][number]), observedAt: 2_950 },
      ],
    };
    const changes = reconcileEgress(later, config, 3_001);
    const writes = egressWrites(changes);
    expect(writes.map((w) => [w.step, w.kind, 'name' in w.change ? w.change.name : ''])).toEqual([
      [1, 'eviction', 'n1'],
      [2, 'phase', 'n3'],
      [3, 'gateway', 'gw'],
      [4, 'policy', 'p'],
    ]);
    expect(writes[0]).toMatchObject({ precondition: 'unchanged-since-decision' });
    // Every change is written exactly once.
    expect(writes).toHaveLength(changes.tunnels.length + changes.gateways.length + changes.policies.length);
  });

  it('steps never go backwards', () => {
    const changes = {
      tunnels: [
        { name: 'a', phase: 'Ready', reason: 'HeartbeatRecovered' },
        { name: 'b', phase: 'HeartbeatTimeout', reason: 'HeartbeatTimeout' },
      ],
      gateways: [{ name: 'gw', nodeList: [] }],
      policies: [
        { kind: 'EgressClusterPolicy', name: 'cp', status: { eip: { ipv4: '', ipv6: '' }, node: '' } },
      ],
      events: [],
      problems: [],
      nextWakeAt: null,
    } as const;
    const steps = egressWrites(changes as never).map((w) => w.step);
    expect(steps).toEqual([1, 2, 3, 4]);
  });
});
