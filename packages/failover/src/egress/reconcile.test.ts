import { describe, expect, it } from 'vitest';
import { makeClusterPolicy, makeGateway, makeNode, makePolicy, makeTunnel } from '../testing/builders.js';
import { applyEgressChanges } from './apply-changes.js';
import { reconcileEgress } from './reconcile.js';
import type { EgressState } from './types.js';

const config = { evictionTimeoutMs: 3_000 };
const NOW = 100_000;

function cluster(over: Partial<EgressState> = {}): EgressState {
  return {
    gateways: [
      makeGateway('gw', {
        ipv4: ['198.18.0.10-198.18.0.13'],
        ipv6: ['fd00:18::10-fd00:18::13'],
        ipv4DefaultEIP: '198.18.0.10',
      }),
    ],
    nodes: ['n1', 'n2', 'n3'].map((n, i) =>
      makeNode(n, { egress: 'true' }, true, [`192.0.2.${i + 1}`, `fd00:2::${i + 1}`]),
    ),
    tunnels: ['n1', 'n2', 'n3'].map((n) => makeTunnel(n, NOW - 500)),
    policies: [],
    clusterPolicies: [],
    ...over,
  };
}

/** Reconciles, writes the result, and reconciles again (must be quiet). */
function settle(state: EgressState, now = NOW) {
  const first = reconcileEgress(state, config, now);
  const written = applyEgressChanges(state, first);
  const again = reconcileEgress(written, config, now);
  expect([again.tunnels, again.gateways, again.policies, again.events]).toEqual([[], [], [], []]);
  return { first, written };
}

describe('reconcileEgress: EIP choice', () => {
  it('default allocator uses the default EIP, paired with the same pool position in ipv6', () => {
    const { first } = settle(cluster({ policies: [makePolicy('ns', 'p', { gateway: 'gw' })] }));
    expect(first.policies).toEqual([
      {
        kind: 'EgressPolicy',
        namespace: 'ns',
        name: 'p',
        status: { eip: { ipv4: '198.18.0.10', ipv6: 'fd00:18::10' }, node: 'n1' },
      },
    ]);
    expect(first.events.map((e) => [e.reason, e.to])).toEqual([['EIPAssigned', 'n1']]);
  });

  it('rr gives each policy an unused EIP, and they spread over nodes', () => {
    const policies = ['a', 'b', 'c'].map((n) =>
      makePolicy('ns', n, { gateway: 'gw', allocatorPolicy: 'rr' }),
    );
    const { first } = settle(cluster({ policies }));
    expect(first.policies.map((p) => [p.name, p.status.eip.ipv4, p.status.node])).toEqual([
      ['a', '198.18.0.10', 'n1'],
      ['b', '198.18.0.11', 'n2'],
      ['c', '198.18.0.12', 'n3'],
    ]);
  });

  it('rr with the pool used up shares the least-used pair and says so on the policy (PoolShared)', () => {
    const policies = ['a', 'b', 'c', 'd', 'e'].map((n) =>
      makePolicy('ns', n, { gateway: 'gw', allocatorPolicy: 'rr' }),
    );
    const r = reconcileEgress(cluster({ policies }), config, NOW);
    // Four addresses, five policies: the fifth shares the first pair with one other policy.
    expect(r.policies.map((p) => [p.name, p.status.eip.ipv4])).toEqual([
      ['a', '198.18.0.10'],
      ['b', '198.18.0.11'],
      ['c', '198.18.0.12'],
      ['d', '198.18.0.13'],
      ['e', '198.18.0.10'],
    ]);
    const shared = r.problems.filter((p) => p.reason === 'PoolShared');
    // Both policies on the shared pair are told, and they still are once it is written and kept.
    expect(shared.map((p) => [p.involvedObject.name, p.type])).toEqual([
      ['a', 'Warning'],
      ['e', 'Warning'],
    ]);
    expect(shared[1]?.message).toContain('shares 198.18.0.10/fd00:18::10 with 1 other policy');
    expect(shared[1]?.message).toContain('gateway gw has no unused EIP left');
    // Structured, for the controller's per-gateway gauge.
    expect(shared.map((p) => [p.gateway, p.eip])).toEqual([
      ['gw', { ipv4: '198.18.0.10', ipv6: 'fd00:18::10' }],
      ['gw', { ipv4: '198.18.0.10', ipv6: 'fd00:18::10' }],
    ]);
    const written = applyEgressChanges(cluster({ policies }), r);
    const kept = reconcileEgress(written, config, NOW);
    expect(kept.problems.filter((p) => p.reason === 'PoolShared').map((p) => p.involvedObject.name)).toEqual([
      'a',
      'e',
    ]);
    // Addresses added: the rr policies keep their (shared) pair, and the warning now says the pool
    // has room and that re-creating the policy gives it its own.
    const grown = {
      ...written,
      gateways: written.gateways.map((g) => ({
        ...g,
        spec: {
          ...g.spec,
          ippools: {
            ...g.spec?.ippools,
            ipv4: ['198.18.0.10-198.18.0.14'],
            ipv6: ['fd00:18::10-fd00:18::14'],
          },
        },
      })),
    };
    const roomy = reconcileEgress(grown, config, NOW).problems.filter((p) => p.reason === 'PoolShared');
    expect(roomy.map((p) => p.involvedObject.name)).toEqual(['a', 'e']);
    expect(roomy[0]?.message).toContain('the pool has unused EIPs now');
    // Re-created (deleted, its release written, created again), it gets the new address alone.
    const without = { ...grown, policies: grown.policies.filter((p) => p.metadata?.name !== 'e') };
    const released = applyEgressChanges(without, reconcileEgress(without, config, NOW));
    const recreated = {
      ...released,
      policies: [...released.policies, policies[4] as (typeof policies)[number]],
    };
    const own = reconcileEgress(recreated, config, NOW);
    expect(own.problems.filter((p) => p.reason === 'PoolShared')).toEqual([]);
    expect(own.policies.find((p) => p.name === 'e')?.status.eip.ipv4).toBe('198.18.0.14');
    // With room, nothing is reported.
    const four = reconcileEgress(cluster({ policies: policies.slice(0, 4) }), config, NOW);
    expect(four.problems.filter((p) => p.reason === 'PoolShared')).toEqual([]);
  });

  it('rr allocation is sticky: a new policy sorted first does not take a running EIP', () => {
    const { written } = settle(
      cluster({ policies: [makePolicy('ns', 'm', { gateway: 'gw', allocatorPolicy: 'rr' })] }),
    );
    const more = {
      ...written,
      policies: [...written.policies, makePolicy('ns', 'a', { gateway: 'gw', allocatorPolicy: 'rr' })],
    };
    const r = reconcileEgress(more, config, NOW);
    expect(r.policies).toEqual([
      {
        kind: 'EgressPolicy',
        namespace: 'ns',
        name: 'a',
        status: { eip: { ipv4: '198.18.0.11', ipv6: 'fd00:18::11' }, node: 'n2' },
      },
    ]);
  });

  it('explicit EIPs, several policies sharing one EIP, and useNodeIP policies', () => {
    const policies = [
      makePolicy('ns', 'x1', { gateway: 'gw', ipv4: '198.18.0.12' }),
      makePolicy('ns', 'x2', { gateway: 'gw', ipv6: 'fd00:18::12' }),
      makePolicy('ns', 'node', { gateway: 'gw', useNodeIP: true }),
    ];
    const { first } = settle(cluster({ policies }));
    const nodeList = first.gateways[0]?.nodeList;
    expect(nodeList).toEqual([
      {
        name: 'n1',
        status: 'Ready',
        eips: [
          {
            ipv4: '198.18.0.12',
            ipv6: 'fd00:18::12',
            policies: [
              { name: 'x1', namespace: 'ns' },
              { name: 'x2', namespace: 'ns' },
            ],
          },
        ],
      },
      {
        name: 'n2',
        status: 'Ready',
        eips: [{ ipv4: '', ipv6: '', policies: [{ name: 'node', namespace: 'ns' }] }],
      },
      { name: 'n3', status: 'Ready' },
    ]);
    expect(first.policies.find((p) => p.name === 'node')?.status).toEqual({
      eip: { ipv4: '192.0.2.2', ipv6: 'fd00:2::2' },
      node: 'n2',
    });
  });

  it('falls back to the namespace default gateway, then to the cluster default', () => {
    const state = cluster({
      gateways: [
        makeGateway('main', { ipv4: ['198.18.1.1'], ipv4DefaultEIP: '198.18.1.1', clusterDefault: true }),
        makeGateway('team', { ipv4: ['198.18.2.1'], ipv4DefaultEIP: '198.18.2.1' }),
      ],
      policies: [makePolicy('team-ns', 'p'), makePolicy('other', 'p')],
      clusterPolicies: [makeClusterPolicy('cp')],
      namespaceLabels: { 'team-ns': { 'spidernet.io/egressgateway-default': 'team' } },
    });
    const { first } = settle(state);
    expect(first.policies.map((p) => [p.kind, p.namespace, p.name, p.status.eip.ipv4])).toEqual([
      ['EgressClusterPolicy', undefined, 'cp', '198.18.1.1'],
      ['EgressPolicy', 'other', 'p', '198.18.1.1'],
      ['EgressPolicy', 'team-ns', 'p', '198.18.2.1'],
    ]);
    const main = first.gateways.find((g) => g.name === 'main');
    expect(main?.nodeList[0]?.eips?.[0]?.policies).toEqual([
      { name: 'cp', namespace: '' },
      { name: 'p', namespace: 'other' },
    ]);
  });

  it('releases an EIP no policy uses any more', () => {
    const { written } = settle(cluster({ policies: [makePolicy('ns', 'p', { gateway: 'gw' })] }));
    const r = reconcileEgress({ ...written, policies: [] }, config, NOW);
    expect(r.events.map((e) => [e.reason, e.from])).toEqual([['EIPReleased', 'n1']]);
    expect(r.gateways[0]?.nodeList.every((n) => n.eips === undefined)).toBe(true);
  });
});

describe('reconcileEgress: input problems are reported, never thrown', () => {
  it('reports EIP outside pool, unknown gateway, no gateway, missing default EIP, no selected node', () => {
    const state = cluster({
      gateways: [
        makeGateway('gw', { ipv4: ['198.18.0.10'] }),
        makeGateway('lonely', {
          ipv4: ['198.18.9.1'],
          ipv4DefaultEIP: '198.18.9.1',
          selector: { matchLabels: { none: 'x' } },
        }),
      ],
      policies: [
        makePolicy('ns', 'outside', { gateway: 'gw', ipv4: '203.0.113.9' }),
        makePolicy('ns', 'ghost', { gateway: 'nope' }),
        makePolicy('ns', 'orphan'),
        makePolicy('ns', 'stranded', { gateway: 'lonely' }),
      ],
    });
    const r = reconcileEgress(state, config, NOW);
    expect(r.problems.map((p) => [p.involvedObject.kind, p.involvedObject.name, p.reason])).toEqual([
      ['EgressGateway', 'gw', 'DefaultEIPMissing'],
      ['EgressGateway', 'lonely', 'EIPUnassignable'],
      ['EgressGateway', 'lonely', 'NoSelectedNode'],
      ['EgressPolicy', 'ghost', 'GatewayNotFound'],
      ['EgressPolicy', 'orphan', 'NoGateway'],
      ['EgressPolicy', 'outside', 'EIPNotInPool'],
    ]);
    expect(r.problems.every((p) => p.type === 'Warning')).toBe(true);
  });

  it('overlapping pools are reported and a shared address is never placed twice', () => {
    const state = cluster({
      gateways: [
        makeGateway('a', {
          ipv4: ['198.18.0.0/30'],
          ipv4DefaultEIP: '198.18.0.1',
          selector: { matchLabels: { egress: 'true' } },
        }),
        makeGateway('b', { ipv4: ['198.18.0.1-198.18.0.5'], ipv4DefaultEIP: '198.18.0.1' }),
      ],
      policies: [makePolicy('ns', 'pa', { gateway: 'a' }), makePolicy('ns', 'pb', { gateway: 'b' })],
    });
    const r = reconcileEgress(state, config, NOW);
    expect(r.problems.filter((p) => p.reason === 'PoolOverlap').map((p) => p.involvedObject.name)).toEqual([
      'a',
      'b',
    ]);
    expect(r.problems.find((p) => p.reason === 'EIPConflict')?.involvedObject.name).toBe('pb');
    // pb keeps its empty status (no write); pa gets the shared address.
    expect(r.policies.map((p) => [p.name, p.status.node])).toEqual([['pa', 'n1']]);
  });

  it('bad pool entries and invalid selectors become warnings', () => {
    const state = cluster({
      gateways: [
        makeGateway('gw', {
          ipv4: ['nonsense', '198.18.0.1'],
          ipv4DefaultEIP: '198.18.0.9',
          selector: { matchExpressions: [{ key: 'k', operator: 'Near', values: ['x'] }] },
        }),
      ],
    });
    const reasons = reconcileEgress(state, config, NOW).problems.map((p) => p.reason);
    expect(reasons).toEqual(['DefaultEIPNotInPool', 'InvalidNodeSelector', 'InvalidPoolEntry']);
  });
});

describe('reconcileEgress: tunnels', () => {
  it('a NotReady node loses its EIPs and its tunnel phase says NodeNotReady', () => {
    const { written } = settle(cluster({ policies: [makePolicy('ns', 'p', { gateway: 'gw' })] }));
    const state = {
      ...written,
      nodes: written.nodes.map((n) =>
        n.metadata?.name === 'n1' ? makeNode('n1', { egress: 'true' }, false) : n,
      ),
    };
    const r = reconcileEgress(state, config, NOW);
    expect(r.tunnels).toEqual([{ name: 'n1', phase: 'NodeNotReady', reason: 'NodeNotReady' }]);
    expect(r.policies[0]?.status.node).toBe('n2');
  });

  it('only writes phases of tunnels whose node some gateway selects', () => {
    const state = cluster({
      nodes: [makeNode('n1'), makeNode('worker', { role: 'worker' })],
      tunnels: [makeTunnel('n1', NOW, 'Pending'), makeTunnel('worker', 0, 'Ready')],
    });
    const r = reconcileEgress(state, config, NOW);
    expect(r.tunnels).toEqual([{ name: 'n1', phase: 'Ready', reason: 'HeartbeatReceived' }]);
    expect(r.nextWakeAt).toBe(NOW + 3_001);
  });

  it('keeps one owner when a corrupted status lists an EIP on two nodes', () => {
    const eip = { ipv4: '198.18.0.10', ipv6: 'fd00:18::10', policies: [{ name: 'p', namespace: 'ns' }] };
    const state = cluster({
      gateways: [
        makeGateway('gw', {
          ipv4: ['198.18.0.10-198.18.0.13'],
          ipv6: ['fd00:18::10-fd00:18::13'],
          ipv4DefaultEIP: '198.18.0.10',
          nodeList: [
            { name: 'n1', status: 'Ready', eips: [eip] },
            { name: 'n2', status: 'Ready', eips: [eip] },
            { name: 'n3', status: 'Ready' },
          ],
        }),
      ],
      policies: [makePolicy('ns', 'p', { gateway: 'gw' })],
    });
    const { first } = settle(state);
    expect(first.events.map((e) => e.reason)).toContain('DuplicateOwner');
    expect(first.gateways[0]?.nodeList.filter((n) => n.eips !== undefined).map((n) => n.name)).toEqual([
      'n1',
    ]);
  });
});

describe('reconcileEgress: rebalance setting', () => {
  it('is off by default (a recovered node gets nothing back) and, when on, evens out loads', () => {
    const policies = ['a', 'b', 'c', 'd'].map((n) =>
      makePolicy('ns', n, { gateway: 'gw', allocatorPolicy: 'rr' }),
    );
    const onlyN1 = cluster({
      policies,
      tunnels: [makeTunnel('n1', NOW), makeTunnel('n2', null, 'Pending'), makeTunnel('n3', null, 'Pending')],
    });
    const { written } = settle(onlyN1);
    expect(written.policies.every((p) => p.status?.node === 'n1')).toBe(true);
    const recovered = { ...written, tunnels: written.tunnels.map((t) => ({ ...t, observedAt: NOW + 100 })) };
    const sticky = reconcileEgress(recovered, config, NOW + 100);
    expect(sticky.policies).toEqual([]);
    const balanced = reconcileEgress(recovered, { ...config, rebalance: true }, NOW + 100);
    expect(balanced.events.filter((e) => e.reason === 'EIPRebalanced')).toHaveLength(2);
    expect(balanced.policies.map((p) => p.status.node).sort()).toEqual(['n2', 'n3']);
  });
});
