import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEgressChanges } from '../egress/apply-changes.js';
import { reconcileEgress } from '../egress/reconcile.js';
import { placements } from '../egress/test-oracle.js';
import { makeGateway, makeNode, makePolicy, makeTunnel } from '../testing/builders.js';
import { placeAddresses } from './placement.js';

const members = ['m1', 'm2', 'm3', 'm4', 'm5'];
const arbPlacementCase = fc
  .record({
    healthy: fc.subarray(members),
    groups: fc.array(
      fc.record({
        candidates: fc.subarray(members, { minLength: 1 }),
        addresses: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { maxLength: 7 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    prev: fc.array(fc.tuple(fc.nat(2), fc.constantFrom('a', 'b', 'c', 'd'), fc.constantFrom(...members)), {
      maxLength: 8,
    }),
  })
  .map(({ healthy, groups, prev }) => ({
    health: new Map(members.map((m) => [m, { healthy: healthy.includes(m) }])),
    groups: groups.map((g, i) => ({ id: `g${i + 1}`, ...g })),
    previous: prev.map(([g, address, member]) => ({ group: `g${g + 1}`, address, member })),
  }));

describe('placeAddresses properties', () => {
  it('balance: each new placement goes to a least-loaded healthy candidate, smallest id on ties', () => {
    fc.assert(
      fc.property(arbPlacementCase, ({ health, groups, previous }) => {
        const { decisions } = placeAddresses(groups, health, previous);
        // Replay: loads after everything kept, then each new placement in decision order.
        const load = new Map<string, number>();
        for (const d of decisions)
          if (d.change === 'kept') load.set(d.member as string, (load.get(d.member as string) ?? 0) + 1);
        for (const d of decisions) {
          if (d.change !== 'assigned' && d.change !== 'moved') continue;
          const group = groups.find((g) => g.id === d.group);
          const healthyCandidates = [...new Set(group?.candidates)]
            .filter((m) => health.get(m)?.healthy)
            .sort();
          const min = Math.min(...healthyCandidates.map((m) => load.get(m) ?? 0));
          const first = healthyCandidates.find((m) => (load.get(m) ?? 0) === min);
          expect(d.member).toBe(first);
          load.set(d.member as string, (load.get(d.member as string) ?? 0) + 1);
        }
      }),
    );
  });

  it('safety: every address gets exactly one decision, on a healthy candidate or none', () => {
    fc.assert(
      fc.property(arbPlacementCase, fc.boolean(), ({ health, groups, previous }, rebalance) => {
        const { decisions } = placeAddresses(groups, health, previous, { rebalance });
        const keys = decisions.map((d) => `${d.group}/${d.address}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(keys.length).toBe(groups.reduce((n, g) => n + g.addresses.length, 0));
        for (const d of decisions) {
          const g = groups.find((x) => x.id === d.group);
          const anyHealthy = g?.candidates.some((m) => health.get(m)?.healthy) ?? false;
          if (d.member === null) expect(anyHealthy).toBe(false);
          else expect(g?.candidates.includes(d.member) && health.get(d.member)?.healthy).toBe(true);
        }
      }),
    );
  });

  it('rebalance: with it on, loads of healthy candidates in a single group differ by at most one', () => {
    fc.assert(
      fc.property(arbPlacementCase, ({ health, groups, previous }) => {
        const g = groups[0] as (typeof groups)[number];
        const { decisions } = placeAddresses([g], health, previous, { rebalance: true });
        const hc = [...new Set(g.candidates)].filter((m) => health.get(m)?.healthy);
        const counts = hc.map((m) => decisions.filter((d) => d.member === m).length);
        if (counts.length > 0) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('reconcileEgress balance', () => {
  it('balance: new EIPs of a gateway land evenly, and a failed node spreads its EIPs over the rest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 20 }),
        fc.nat(),
        (n, e, victim) => {
          const nodes = Array.from({ length: n }, (_, i) => `node${i + 1}`);
          const state = {
            gateways: [makeGateway('gw', { ipv4: ['198.18.0.0/24'], ipv4DefaultEIP: '198.18.0.0' })],
            nodes: nodes.map((x) => makeNode(x)),
            tunnels: nodes.map((x) => makeTunnel(x, 10_000)),
            policies: Array.from({ length: e }, (_, i) =>
              makePolicy('ns', `p${i}`, { gateway: 'gw', allocatorPolicy: 'rr' }),
            ),
            clusterPolicies: [],
          };
          const config = { evictionTimeoutMs: 3_000 };
          const written = applyEgressChanges(state, reconcileEgress(state, config, 10_000));
          const spread = (s: typeof written, alive: string[]) => {
            const counts = alive.map((x) => placements(s).filter((p) => p.node === x).length);
            return Math.max(...counts) - Math.min(...counts);
          };
          expect(spread(written, nodes)).toBeLessThanOrEqual(1);
          const dead = nodes[victim % n] as string;
          const failed = {
            ...written,
            tunnels: written.tunnels.map((t) =>
              t.tunnel.metadata?.name === dead ? t : { ...t, observedAt: 13_000 },
            ),
          };
          const after = applyEgressChanges(failed, reconcileEgress(failed, config, 13_001));
          const alive = nodes.filter((x) => x !== dead);
          // Survivors started within one of each other and the dead node's EIPs spread: still within one.
          expect(spread(after, alive)).toBeLessThanOrEqual(1);
          expect(placements(after).filter((p) => p.node === dead)).toEqual([]);
        },
      ),
    );
  });
});
