// The engine memoises per input object (parsed pools, policy fields, status indexes, selectors) and
// takes policies in input order unless order decides something. These tests pin down that neither
// shows in a result.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbCluster, arbTunnels } from '../testing/arbitraries.js';
import { makeGateway, makeNode, makePolicy, makeTunnel } from '../testing/builders.js';
import { applyEgressChanges } from './apply-changes.js';
import { reconcileEgress } from './reconcile.js';
import { shuffle } from './test-oracle.js';
import type { EgressPolicyLike, EgressState } from './types.js';

const NOW = 100_000;
const config = { evictionTimeoutMs: 3_000 };

/** Adds duplicates (same namespace and name, other content) of some policies at random places. */
function withDuplicates(state: EgressState, seed: number): EgressState {
  let s = seed >>> 0 || 1;
  const next = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const policies: EgressPolicyLike[] = [...state.policies];
  for (const p of state.policies) {
    if (next(3) !== 0) continue;
    policies.splice(next(policies.length + 1), 0, {
      ...p,
      spec: { ...p.spec, egressIP: { allocatorPolicy: 'rr' } },
    });
  }
  return { ...state, policies };
}

describe('reconcileEgress memo and order neutrality', () => {
  it('memo neutrality: objects seen by earlier reconciles give the same result as fresh copies', () => {
    const arb = arbCluster({ maxPolicies: 16 }).chain((c) =>
      fc
        .tuple(fc.integer({ min: 0, max: 2 * c.evictionTimeoutMs }), fc.nat(), fc.boolean())
        .chain(([dt, seed, rebalance]) =>
          arbTunnels(c.state.nodes, c.evictionTimeoutMs, c.nowMs + dt).map((tunnels) => ({
            c,
            dt,
            seed,
            rebalance,
            tunnels,
          })),
        ),
    );
    fc.assert(
      fc.property(arb, ({ c, dt, seed, rebalance, tunnels }) => {
        const cfg = { evictionTimeoutMs: c.evictionTimeoutMs, rebalance };
        // Warm every memo with a history over shared objects, then compare each step to a deep copy.
        let state = withDuplicates(c.state, seed);
        for (const [now, tunnelsNow] of [
          [c.nowMs, c.state.tunnels],
          [c.nowMs + dt, tunnels],
        ] as const) {
          state = { ...state, tunnels: tunnelsNow };
          const warm = reconcileEgress(state, cfg, now);
          expect(warm).toEqual(reconcileEgress(structuredClone(state), cfg, now));
          state = applyEgressChanges(state, warm);
          const shuffled = { ...state, gateways: shuffle(state.gateways, seed) };
          expect(reconcileEgress(shuffled, cfg, now)).toEqual(
            reconcileEgress(structuredClone(shuffled), cfg, now),
          );
        }
      }),
    );
  });

  it('duplicates: of policies with the same namespace and name, the first in input order counts', () => {
    const gateways = [
      makeGateway('gw', { ipv4: ['198.18.0.10-198.18.0.13'], ipv4DefaultEIP: '198.18.0.10' }),
    ];
    const state = (policies: EgressPolicyLike[]): EgressState => ({
      gateways,
      nodes: [makeNode('n1')],
      tunnels: [makeTunnel('n1', NOW - 500)],
      policies,
      clusterPolicies: [],
    });
    const a = makePolicy('ns', 'p', { gateway: 'gw', ipv4: '198.18.0.11' });
    const b = makePolicy('ns', 'p', { gateway: 'gw', ipv4: '198.18.0.12' });
    const eipOf = (s: EgressState) => reconcileEgress(s, config, NOW).policies.map((p) => p.status.eip.ipv4);
    expect(eipOf(state([a, b]))).toEqual(['198.18.0.11']);
    expect(eipOf(state([b, a]))).toEqual(['198.18.0.12']);
  });

  it('conflicts: the policy first in (namespace, name) order keeps a shared address, in any input order', () => {
    // Given both addresses, a pair is used as given: 198.18.0.10 is asked for with two different ipv6
    // addresses, so only one of the two pairs can exist.
    const gw = makeGateway('gw', {
      ipv4: ['198.18.0.10-198.18.0.11'],
      ipv6: ['fd00:18::10-fd00:18::11'],
      ipv4DefaultEIP: '198.18.0.10',
    });
    const policies = [
      makePolicy('ns-a', 'p2', { gateway: 'gw', ipv4: '198.18.0.10', ipv6: 'fd00:18::10' }),
      makePolicy('ns-a', 'p1', { gateway: 'gw', ipv4: '198.18.0.10', ipv6: 'fd00:18::11' }),
      makePolicy('ns-b', 'p0', { gateway: 'gw', ipv4: '198.18.0.11', ipv6: 'fd00:18::11' }),
    ];
    const base: EgressState = {
      gateways: [gw],
      nodes: [makeNode('n1'), makeNode('n2')],
      tunnels: [makeTunnel('n1', NOW - 500), makeTunnel('n2', NOW - 500)],
      policies,
      clusterPolicies: [],
    };
    const expected = reconcileEgress(base, config, NOW);
    const conflicts = expected.problems.filter((p) => p.reason === 'EIPConflict');
    // ns-a/p1 comes first and takes 198.18.0.10 with fd00:18::11; p2 and ns-b/p0 share an address with it.
    expect(conflicts.map((p) => `${p.involvedObject.namespace}/${p.involvedObject.name}`)).toEqual([
      'ns-a/p2',
      'ns-b/p0',
    ]);
    expect(expected.policies.map((p) => [p.name, p.status.eip])).toEqual([
      ['p1', { ipv4: '198.18.0.10', ipv6: 'fd00:18::11' }],
    ]);
    for (let seed = 1; seed <= 6; seed++) {
      const shuffled = { ...base, policies: shuffle(policies, seed) };
      expect(reconcileEgress(shuffled, config, NOW)).toEqual(expected);
    }
  });
});
