import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbCluster, arbTunnels } from '../testing/arbitraries.js';
import { applyEgressChanges } from './apply-changes.js';
import { reconcileEgress } from './reconcile.js';
import { oracleHealthy, oracleSelected, placements, shuffle } from './test-oracle.js';
import type { EgressChanges, EgressState } from './types.js';

const quiet = (r: EgressChanges) => [r.tunnels, r.gateways, r.policies, r.events];
const NO_CHANGES = [[], [], [], []];

function step(state: EgressState, T: number, now: number) {
  const changes = reconcileEgress(state, { evictionTimeoutMs: T }, now);
  return { changes, written: applyEgressChanges(state, changes) };
}

/** A written cluster at `nowMs`, then new tunnel observations at a later instant. */
const arbTwoSteps = arbCluster().chain((c) =>
  fc.integer({ min: 0, max: 2 * c.evictionTimeoutMs }).chain((dt) =>
    arbTunnels(c.state.nodes, c.evictionTimeoutMs, c.nowMs + dt).map((tunnels) => ({
      ...c,
      later: c.nowMs + dt,
      tunnels,
    })),
  ),
);

function assertSafe(state: EgressState, T: number, now: number) {
  const owner = new Map<string, string>();
  for (const p of placements(state)) {
    for (const a of [p.ipv4, p.ipv6]) {
      if (a === '') continue;
      expect(owner.get(a) ?? p.node, `address ${a} on two nodes`).toBe(p.node);
      owner.set(a, p.node);
    }
    const gw = state.gateways.find((g) => g.metadata?.name === p.gateway);
    expect(
      gw !== undefined && oracleSelected(gw, state, p.node),
      `${p.node} not selected by ${p.gateway}`,
    ).toBe(true);
    expect(oracleHealthy(state, p.node, T, now), `${p.node} not healthy at ${now}`).toBe(true);
  }
  for (const p of [...state.policies, ...state.clusterPolicies]) {
    const node = p.status?.node ?? '';
    if (node !== '') expect(oracleHealthy(state, node, T, now)).toBe(true);
  }
}

describe('reconcileEgress properties', () => {
  it('safety: an EIP address is on at most one node, and only on a selected node healthy at now', () => {
    fc.assert(
      fc.property(arbTwoSteps, (c) => {
        const first = step(c.state, c.evictionTimeoutMs, c.nowMs).written;
        assertSafe(first, c.evictionTimeoutMs, c.nowMs);
        const second = step({ ...first, tunnels: c.tunnels }, c.evictionTimeoutMs, c.later).written;
        assertSafe(second, c.evictionTimeoutMs, c.later);
      }),
    );
  });

  it('liveness: a policy with a resolved EIP or node IP is placed whenever its gateway has a healthy selected node', () => {
    fc.assert(
      fc.property(arbCluster(), (c) => {
        const { written, changes } = step(c.state, c.evictionTimeoutMs, c.nowMs);
        const healthyCandidates = (gwName: string) => {
          const gw = written.gateways.find((g) => g.metadata?.name === gwName);
          if (gw === undefined) return 0;
          return written.nodes.filter(
            (n) =>
              oracleSelected(gw, written, n.metadata?.name ?? '') &&
              oracleHealthy(written, n.metadata?.name ?? '', c.evictionTimeoutMs, c.nowMs),
          ).length;
        };
        const defaultGw = written.gateways.find((g) => g.spec?.clusterDefault === true)?.metadata?.name ?? '';
        for (const p of [...written.policies, ...written.clusterPolicies]) {
          const gwName = p.spec?.egressGatewayName ?? defaultGw;
          const resolved =
            p.spec?.egressIP?.useNodeIP === true
              ? written.gateways.some((g) => g.metadata?.name === gwName)
              : (p.status?.eip?.ipv4 ?? '') !== '' || (p.status?.eip?.ipv6 ?? '') !== '';
          if (resolved && healthyCandidates(gwName) > 0)
            expect(p.status?.node ?? '', `${p.metadata?.name}`).not.toBe('');
        }
        for (const p of changes.problems.filter((x) => x.reason === 'EIPUnassignable')) {
          expect(healthyCandidates(p.involvedObject.name)).toBe(0);
        }
      }),
    );
  });

  it('exact boundary: a tunnel is evicted at the first ms after observedAt + eviction timeout, never before', () => {
    fc.assert(
      fc.property(arbCluster(), fc.nat(), (c, pick) => {
        const base = step(c.state, c.evictionTimeoutMs, c.nowMs).written;
        const selected = base.tunnels.filter((t) =>
          base.gateways.some((g) => oracleSelected(g, base, t.tunnel.metadata?.name ?? '')),
        );
        fc.pre(selected.length > 0);
        const target = selected[pick % selected.length]?.tunnel.metadata?.name as string;
        const t0 = c.nowMs;
        const state = {
          ...base,
          tunnels: base.tunnels.map((t) =>
            t.tunnel.metadata?.name === target ? { ...t, observedAt: t0 } : t,
          ),
        };
        const phaseAt = (now: number) =>
          step(state, c.evictionTimeoutMs, now).written.tunnels.find(
            (t) => t.tunnel.metadata?.name === target,
          )?.tunnel.status?.phase;
        expect(phaseAt(t0 + c.evictionTimeoutMs)).not.toBe('HeartbeatTimeout');
        expect(phaseAt(t0 + c.evictionTimeoutMs + 1)).toBe('HeartbeatTimeout');
        const late = step(state, c.evictionTimeoutMs, t0 + c.evictionTimeoutMs + 1).written;
        expect(placements(late).some((p) => p.node === target)).toBe(false);
      }),
    );
  });

  it('stability: an EIP on a node that stays healthy never moves (no rebalance)', () => {
    fc.assert(
      fc.property(arbTwoSteps, (c) => {
        const first = step(c.state, c.evictionTimeoutMs, c.nowMs).written;
        const { written, changes } = step({ ...first, tunnels: c.tunnels }, c.evictionTimeoutMs, c.later);
        const after = new Map(placements(written).map((p) => [`${p.gateway}/${p.unit}`, p.node]));
        for (const p of placements(first)) {
          if (!oracleHealthy(written, p.node, c.evictionTimeoutMs, c.later)) continue;
          // Either it stays where it was, or no policy uses it any more.
          const now = after.get(`${p.gateway}/${p.unit}`);
          if (now !== undefined) expect(now).toBe(p.node);
        }
        for (const e of changes.events.filter((x) => x.reason === 'EIPMoved')) {
          expect(oracleHealthy(written, e.from as string, c.evictionTimeoutMs, c.later)).toBe(false);
        }
      }),
    );
  });

  it('stability: a recovered node takes nothing back, and a new leader from the written status makes zero moves', () => {
    fc.assert(
      fc.property(arbCluster(), fc.integer({ min: 1, max: 10_000 }), (c, dt) => {
        const first = step(c.state, c.evictionTimeoutMs, c.nowMs).written;
        // A new leader (or the same one after every node recovered) first sees every heartbeat at its start.
        const later = c.nowMs + dt;
        const recovered = {
          ...first,
          tunnels: first.tunnels.map((t) => ({
            tunnel: t.tunnel,
            observedAt: t.observedAt === null ? null : later,
          })),
        };
        const { written, changes } = step(recovered, c.evictionTimeoutMs, later);
        expect(changes.events.filter((e) => e.reason === 'EIPMoved' || e.reason === 'EIPRebalanced')).toEqual(
          [],
        );
        const after = new Map(placements(written).map((p) => [`${p.gateway}/${p.unit}`, p.node]));
        for (const p of placements(first)) expect(after.get(`${p.gateway}/${p.unit}`)).toBe(p.node);
      }),
    );
  });

  it('determinism: the same input in any order gives the same output', () => {
    fc.assert(
      fc.property(arbCluster(), fc.integer(), (c, seed) => {
        const first = step(c.state, c.evictionTimeoutMs, c.nowMs).written;
        const shuffled: EgressState = {
          gateways: shuffle(first.gateways, seed),
          nodes: shuffle(first.nodes, seed + 1),
          tunnels: shuffle(first.tunnels, seed + 2),
          policies: shuffle(first.policies, seed + 3),
          clusterPolicies: shuffle(first.clusterPolicies, seed + 4),
        };
        const later = c.nowMs + c.evictionTimeoutMs;
        expect(reconcileEgress(shuffled, { evictionTimeoutMs: c.evictionTimeoutMs }, later)).toEqual(
          reconcileEgress(first, { evictionTimeoutMs: c.evictionTimeoutMs }, later),
        );
        expect(
          reconcileEgress(
            { ...c.state, policies: shuffle(c.state.policies, seed) },
            { evictionTimeoutMs: c.evictionTimeoutMs },
            c.nowMs,
          ),
        ).toEqual(reconcileEgress(c.state, { evictionTimeoutMs: c.evictionTimeoutMs }, c.nowMs));
      }),
    );
  });

  it('idempotence: applying the changes and calling again returns no changes (also with rebalance)', () => {
    fc.assert(
      fc.property(arbTwoSteps, fc.boolean(), (c, rebalance) => {
        const config = { evictionTimeoutMs: c.evictionTimeoutMs, rebalance };
        const r1 = reconcileEgress(c.state, config, c.nowMs);
        const w1 = applyEgressChanges(c.state, r1);
        const again = reconcileEgress(w1, config, c.nowMs);
        expect(quiet(again)).toEqual(NO_CHANGES);
        expect(again.problems.filter((p) => p.reason !== 'EIPUnassignable')).toEqual(
          r1.problems.filter((p) => p.reason !== 'EIPUnassignable'),
        );
        const w2 = applyEgressChanges(
          { ...w1, tunnels: c.tunnels },
          reconcileEgress({ ...w1, tunnels: c.tunnels }, config, c.later),
        );
        expect(quiet(reconcileEgress(w2, config, c.later))).toEqual(NO_CHANGES);
      }),
    );
  });

  it('nextWakeAt: nothing changes before it with no new input, and something changes at it', () => {
    fc.assert(
      fc.property(arbCluster(), fc.double({ min: 0, max: 1, noNaN: true }), (c, u) => {
        const config = { evictionTimeoutMs: c.evictionTimeoutMs };
        const r = reconcileEgress(c.state, config, c.nowMs);
        const written = applyEgressChanges(c.state, r);
        if (r.nextWakeAt === null) {
          expect(quiet(reconcileEgress(written, config, c.nowMs + 10 * c.evictionTimeoutMs))).toEqual(
            NO_CHANGES,
          );
          return;
        }
        expect(r.nextWakeAt).toBeGreaterThan(c.nowMs);
        const before = c.nowMs + Math.floor(u * (r.nextWakeAt - 1 - c.nowMs));
        expect(quiet(reconcileEgress(written, config, before))).toEqual(NO_CHANGES);
        expect(quiet(reconcileEgress(written, config, r.nextWakeAt - 1))).toEqual(NO_CHANGES);
        expect(reconcileEgress(written, config, r.nextWakeAt).tunnels.length).toBeGreaterThan(0);
      }),
    );
  });
});
