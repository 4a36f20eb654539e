import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbCluster } from '../testing/arbitraries.js';
import { applyEgressChanges } from './apply-changes.js';
import { reconcileEgress } from './reconcile.js';
import { oracleHealthy, oracleSelected, placements } from './test-oracle.js';
import type { EgressChanges, EgressState, PeerClaimLike } from './types.js';

const outside = (r: EgressChanges) => [r.tunnels, r.gateways, r.policies, r.events, r.problems];

/** A written cluster, and claims on its EIPs: claimants and `from`s drawn from all nodes. */
/** The state with every gateway at `resourceVersion` (as the API server gives a written object one). */
const atVersion = (state: EgressState, rv: string): EgressState => ({
  ...state,
  gateways: state.gateways.map((g) => ({ ...g, metadata: { ...g.metadata, resourceVersion: rv } })),
});

const arbClaimCase = arbCluster().chain((c) => {
  const written = atVersion(
    applyEgressChanges(
      c.state,
      reconcileEgress(c.state, { evictionTimeoutMs: c.evictionTimeoutMs }, c.nowMs),
    ),
    '1',
  );
  const eips = placements(written).filter((p) => p.ipv4 !== '' || p.ipv6 !== '');
  const names = written.nodes.map((n) => n.metadata?.name ?? '');
  const arbClaim =
    eips.length === 0 || names.length === 0
      ? fc.constant(null)
      : fc.constantFrom(...eips).chain((eip) => {
          // Drawing claimants among the selected healthy nodes too makes acceptable claims common.
          const gw = written.gateways.find((g) => g.metadata?.name === eip.gateway);
          const eligible = names.filter(
            (n) =>
              gw !== undefined &&
              n !== eip.node &&
              oracleSelected(gw, written, n) &&
              oracleHealthy(written, n, c.evictionTimeoutMs, c.nowMs),
          );
          const peers = eligible.length > 0 ? eligible : names;
          return fc
            .record({
              node: fc.oneof(fc.constantFrom(...names), fc.constantFrom(...peers)),
              // Mostly the holder the status names (an acceptable claim), sometimes any node (stale).
              fromHolder: fc.boolean(),
              otherFrom: fc.constantFrom(...names),
              // The version the claimant saw: mostly the current one, sometimes an older one.
              statusVersion: fc.constantFrom('1', '1', '1', '0', undefined),
            })
            .map(
              ({ node, fromHolder, otherFrom, statusVersion }): PeerClaimLike => ({
                ...(statusVersion !== undefined ? { statusVersion } : {}),
                node,
                gateway: eip.gateway,
                ipv4: eip.ipv4,
                ipv6: eip.ipv6,
                from: fromHolder ? eip.node : otherFrom,
              }),
            );
        });
  return fc
    .array(arbClaim, { maxLength: 4 })
    .map((cs) => ({ ...c, written, claims: cs.filter((x): x is PeerClaimLike => x !== null) }));
});

/** What the rule says of each claim, stated naively from the written status. */
function expectedFollowed(state: EgressState, claims: readonly PeerClaimLike[], T: number, now: number) {
  const holder = new Map(placements(state).map((p) => [`${p.gateway}|${p.ipv4}|${p.ipv6}`, p.node]));
  const acceptable = claims.map((c) => {
    const gw = state.gateways.find((g) => g.metadata?.name === c.gateway);
    const h = holder.get(`${c.gateway}|${c.ipv4}|${c.ipv6}`);
    return (
      gw !== undefined &&
      (c.statusVersion === undefined || c.statusVersion === gw.metadata?.resourceVersion) &&
      h === c.from &&
      h !== c.node &&
      oracleSelected(gw, state, c.node) &&
      oracleHealthy(state, c.node, T, now)
    );
  });
  return claims.map((c, i) => {
    if (!acceptable[i]) return false;
    // Another acceptable claim by another node on the same EIP: neither is followed.
    return !claims.some(
      (o, j) =>
        acceptable[j] &&
        o.node !== c.node &&
        o.gateway === c.gateway &&
        o.ipv4 === c.ipv4 &&
        o.ipv6 === c.ipv6,
    );
  });
}

describe('peer claims in reconcileEgress (properties)', () => {
  it('a claim is followed iff the status names its from and the claimant is a selected healthy node; never two holders', () => {
    fc.assert(
      fc.property(arbClaimCase, (c) => {
        const T = c.evictionTimeoutMs;
        const r = reconcileEgress({ ...c.written, peerClaims: c.claims }, { evictionTimeoutMs: T }, c.nowMs);
        const followed = expectedFollowed(c.written, c.claims, T, c.nowMs);
        expect(r.peerClaims.map((v) => v.verdict === 'followed')).toEqual(followed);
        const after = applyEgressChanges(c.written, r);
        const owner = new Map<string, string>();
        for (const p of placements(after))
          for (const a of [p.ipv4, p.ipv6]) {
            if (a === '') continue;
            expect(owner.get(a) ?? p.node, `address ${a} on two nodes`).toBe(p.node);
            owner.set(a, p.node);
          }
        const now = new Map(placements(after).map((p) => [`${p.gateway}|${p.ipv4}|${p.ipv6}`, p.node]));
        c.claims.forEach((claim, i) => {
          if (followed[i]) expect(now.get(`${claim.gateway}|${claim.ipv4}|${claim.ipv6}`)).toBe(claim.node);
        });
      }),
      { seed: 21, numRuns: 200 },
    );
  });

  it('claims that are not followed change nothing', () => {
    fc.assert(
      fc.property(arbClaimCase, (c) => {
        const T = c.evictionTimeoutMs;
        const judged = reconcileEgress(
          { ...c.written, peerClaims: c.claims },
          { evictionTimeoutMs: T },
          c.nowMs,
        );
        const refused = c.claims.filter((_, i) => judged.peerClaims[i]?.verdict !== 'followed');
        const withRefused = reconcileEgress(
          { ...c.written, peerClaims: refused },
          { evictionTimeoutMs: T },
          c.nowMs,
        );
        const without = reconcileEgress(c.written, { evictionTimeoutMs: T }, c.nowMs);
        expect(outside(withRefused)).toEqual(outside(without));
      }),
      { seed: 22, numRuns: 200 },
    );
  });

  it('idempotent: once written, the same claims are recorded or stale and change nothing (no ping-pong)', () => {
    fc.assert(
      fc.property(arbClaimCase, (c) => {
        const T = c.evictionTimeoutMs;
        const first = reconcileEgress(
          { ...c.written, peerClaims: c.claims },
          { evictionTimeoutMs: T },
          c.nowMs,
        );
        // The API server gives the written gateways a new version.
        const after = atVersion(applyEgressChanges({ ...c.written, peerClaims: c.claims }, first), '2');
        const again = reconcileEgress(after, { evictionTimeoutMs: T }, c.nowMs);
        expect([again.tunnels, again.gateways, again.policies, again.events]).toEqual([[], [], [], []]);
        for (const [i, v] of again.peerClaims.entries())
          if (first.peerClaims[i]?.verdict === 'followed') expect(v.verdict).toBe('recorded');
          else expect(v.verdict).not.toBe('followed');
      }),
      { seed: 23, numRuns: 200 },
    );
  });
});
