import { describe, expect, it } from 'vitest';
import { placeAddresses } from '../core/placement.js';
import { makeGateway, makeNode, makePolicy, makeTunnel } from '../testing/builders.js';
import { applyEgressChanges } from './apply-changes.js';
import { reconcileEgress } from './reconcile.js';
import type { EgressState, PeerClaimLike } from './types.js';

const config = { evictionTimeoutMs: 3_000 };
const NOW = 100_000;
const EIP = { ipv4: '198.18.0.10', ipv6: 'fd00:18::10' };

/** A written cluster: the policy's EIP on n1, the gateway at resourceVersion "7", n3 not Ready. */
function written(): EgressState {
  const state: EgressState = {
    gateways: [
      makeGateway('gw', {
        ipv4: ['198.18.0.10-198.18.0.11'],
        ipv6: ['fd00:18::10-fd00:18::11'],
        ipv4DefaultEIP: '198.18.0.10',
      }),
    ],
    nodes: [
      makeNode('n1'),
      makeNode('n2'),
      makeNode('n3', { egress: 'true' }, false),
      makeNode('w1', { egress: 'false' }),
    ],
    tunnels: ['n1', 'n2', 'n3', 'w1'].map((n) => makeTunnel(n, NOW - 500)),
    policies: [makePolicy('ns', 'p', { gateway: 'gw' })],
    clusterPolicies: [],
  };
  const out = applyEgressChanges(state, reconcileEgress(state, config, NOW));
  const holder = out.gateways[0]?.status?.nodeList?.find((n) => (n.eips ?? []).length > 0)?.name;
  expect(holder).toBe('n1');
  return {
    ...out,
    gateways: out.gateways.map((g) => ({ ...g, metadata: { ...g.metadata, resourceVersion: '7' } })),
  };
}

const claim = (over: Partial<PeerClaimLike> = {}): PeerClaimLike => ({
  node: 'n2',
  gateway: 'gw',
  ...EIP,
  from: 'n1',
  statusVersion: '7',
  ...over,
});

describe('peer claims in reconcileEgress', () => {
  it('moves the EIP to the claimant at once although the old holder still heartbeats', () => {
    const state = written();
    const r = reconcileEgress({ ...state, peerClaims: [claim()] }, config, NOW);
    expect(r.peerClaims).toEqual([{ claim: claim(), verdict: 'followed' }]);
    expect(r.tunnels).toEqual([]);
    const list = r.gateways[0]?.nodeList ?? [];
    expect(list.find((n) => n.name === 'n2')?.eips).toEqual([
      { ...EIP, policies: [{ name: 'p', namespace: 'ns' }] },
    ]);
    expect(list.find((n) => n.name === 'n1')?.eips ?? []).toEqual([]);
    expect(r.policies.map((p) => p.status.node)).toEqual(['n2']);
    expect(r.events.map((e) => [e.reason, e.from, e.to, e.message])).toEqual([
      [
        'EIPMoved',
        'n1',
        'n2',
        "EIP 198.18.0.10/fd00:18::10 moved from n1 to n2: PeerClaim: the gateway's peers made n2 take over",
      ],
    ]);
    // Without the claim nothing would move: n1 is healthy.
    expect(reconcileEgress(state, config, NOW).gateways).toEqual([]);
  });

  it('once written, the claim is recorded and nothing changes', () => {
    const state = written();
    const r = reconcileEgress({ ...state, peerClaims: [claim()] }, config, NOW);
    const after = applyEgressChanges({ ...state, peerClaims: [claim()] }, r);
    const again = reconcileEgress(after, config, NOW);
    expect(again.peerClaims.map((v) => v.verdict)).toEqual(['recorded']);
    expect([again.gateways, again.policies, again.events]).toEqual([[], [], []]);
  });

  it.each<[string, PeerClaimLike, string, boolean?]>([
    ['stale: the status names another node than from', claim({ from: 'n3' }), 'stale'],
    ['stale: made against an older version of the gateway', claim({ statusVersion: '6' }), 'stale'],
    ['ineligible: the claimant is not Ready', claim({ node: 'n3' }), 'ineligible'],
    ['ineligible: the claimant is not selected by the gateway', claim({ node: 'w1' }), 'ineligible'],
    [
      'ineligible: the claimant has no heartbeat within the eviction timeout',
      claim({ node: 'n2' }),
      'ineligible',
      true,
    ],
    ['unknown: no such gateway', claim({ gateway: 'other' }), 'unknown'],
    ['unknown: no such EIP in use', claim({ ipv4: '198.18.0.11', ipv6: 'fd00:18::11' }), 'unknown'],
    ['recorded: the status already names the claimant', claim({ node: 'n1', from: 'n2' }), 'recorded'],
  ])('%s: nothing moves', (_, c, verdict, n2Silent = false) => {
    let state = written();
    if (n2Silent)
      state = {
        ...state,
        tunnels: state.tunnels.map((t) =>
          t.tunnel.metadata?.name === 'n2' ? makeTunnel('n2', NOW - 3_001) : t,
        ),
      };
    const r = reconcileEgress({ ...state, peerClaims: [c] }, config, NOW);
    expect(r.peerClaims.map((v) => v.verdict)).toEqual([verdict]);
    const without = reconcileEgress(state, config, NOW);
    expect([r.gateways, r.policies, r.events]).toEqual([without.gateways, without.policies, without.events]);
  });

  it('two acceptable claims on one EIP are both refused (contested): never two holders', () => {
    const state = written();
    const extra = {
      ...state,
      nodes: [...state.nodes, makeNode('n4')],
      tunnels: [...state.tunnels, makeTunnel('n4', NOW - 100)],
    };
    const r = reconcileEgress({ ...extra, peerClaims: [claim(), claim({ node: 'n4' })] }, config, NOW);
    expect(r.peerClaims.map((v) => v.verdict)).toEqual(['contested', 'contested']);
    expect(r.events.filter((e) => e.reason === 'EIPMoved')).toEqual([]);
  });

  it('a malformed claim is an InvalidInput problem, never thrown', () => {
    const state = written();
    const r = reconcileEgress(
      { ...state, peerClaims: [{ ...claim(), from: 3 } as unknown as PeerClaimLike, claim()] },
      config,
      NOW,
    );
    expect(r.peerClaims.map((v) => v.verdict)).toEqual(['followed']);
    expect(r.problems.map((p) => [p.reason, p.message])).toContainEqual([
      'InvalidInput',
      'state.peerClaims[0].from must be a string, got number 3; the claim is ignored',
    ]);
  });
});

describe('placeAddresses with claims', () => {
  it('a claimed address is not rebalanced away in the same call', () => {
    const health = new Map(['a', 'b', 'c'].map((m) => [m, { healthy: true }]));
    const { decisions, claims } = placeAddresses(
      [{ id: 'g', candidates: ['a', 'b', 'c'], addresses: ['x', 'y', 'z'] }],
      health,
      [
        { group: 'g', address: 'x', member: 'a' },
        { group: 'g', address: 'y', member: 'b' },
        { group: 'g', address: 'z', member: 'b' },
      ],
      { rebalance: true, claims: [{ group: 'g', address: 'x', member: 'b', from: 'a' }] },
    );
    expect(claims.map((c) => c.verdict)).toEqual(['followed']);
    expect(decisions.find((d) => d.address === 'x')).toMatchObject({ member: 'b', change: 'claimed' });
    // b now holds three: the others are rebalanced, the claimed one stays.
    expect(decisions.filter((d) => d.member === 'b').map((d) => d.address)).toContain('x');
  });
});
