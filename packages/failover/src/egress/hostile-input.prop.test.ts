import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEgressChanges, type EgressChanges, type EgressState, reconcileEgress } from '../index.js';
import { arbCluster } from '../testing/index.js';

/** Every position of a JSON-like tree (object keys and array slots, plus one past each array's end). */
function positions(root: unknown): Array<{ parent: Record<string | number, unknown>; key: string | number }> {
  const out: Array<{ parent: Record<string | number, unknown>; key: string | number }> = [];
  const walk = (v: unknown) => {
    if (typeof v !== 'object' || v === null) return;
    const parent = v as Record<string | number, unknown>;
    if (Array.isArray(v)) {
      for (let i = 0; i <= v.length; i++) out.push({ parent, key: i });
      for (const x of v) walk(x);
    } else {
      for (const [k, x] of Object.entries(v)) {
        out.push({ parent, key: k });
        walk(x);
      }
    }
  };
  walk(root);
  return out;
}

/** Junk as hostile writers and broken callers produce it (addresses that must never be EIPs included). */
const arbJunk = fc.oneof(
  fc.constantFrom(null, undefined, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, '', 'x', true, {}, []),
  fc.constantFrom('0.0.0.0', '::', '198.18.1.0/24', '198.18.1.10', 'node1', 'Ready', 'True', '-', ':::'),
  fc.integer(),
  fc.string({ maxLength: 6 }),
  fc.anything({ maxDepth: 2, maxKeys: 3 }),
);

const T = 3_000;

/** A defensive oracle: may `node` hold EIPs according to the (junk-laden) state? */
function mayHold(state: EgressState, node: string, now: number): boolean {
  const tunnels = Array.isArray(state?.tunnels) ? state.tunnels : [];
  const nodes = Array.isArray(state?.nodes) ? state.nodes : [];
  const fresh = tunnels.some((t: unknown) => {
    const o = t as { tunnel?: { metadata?: { name?: unknown } }; observedAt?: unknown; draining?: unknown };
    return (
      typeof o === 'object' &&
      o !== null &&
      o.tunnel?.metadata?.name === node &&
      typeof o.observedAt === 'number' &&
      now <= o.observedAt + T &&
      o.draining !== true
    );
  });
  const known = nodes.some(
    (n: unknown) => (n as { metadata?: { name?: unknown } } | null)?.metadata?.name === node,
  );
  return fresh && known;
}

const UNUSABLE = new Set(['0.0.0.0', '::']);

function assertSafe(state: EgressState, changes: EgressChanges, now: number) {
  const owner = new Map<string, string>();
  const written = new Set(changes.gateways.map((g) => g.name));
  const lists: Array<readonly { name: string; eips?: ReadonlyArray<{ ipv4?: string; ipv6?: string }> }[]> =
    changes.gateways.map((g) => g.nodeList);
  for (const g of Array.isArray(state.gateways) ? state.gateways : []) {
    const name = g?.metadata?.name;
    const list = g?.status?.nodeList;
    if (typeof name === 'string' && !written.has(name) && Array.isArray(list)) lists.push(list);
  }
  for (const [k, list] of lists.entries()) {
    for (const n of list) {
      if (typeof n !== 'object' || n === null || !Array.isArray(n.eips)) continue;
      for (const e of n.eips) {
        for (const a of [e?.ipv4, e?.ipv6]) {
          if (typeof a !== 'string' || a === '') continue;
          if (k < changes.gateways.length) {
            expect(UNUSABLE.has(a), `${a} handed out`).toBe(false);
            expect(mayHold(state, n.name, now), `${a} placed on ${n.name}, which may not hold EIPs`).toBe(
              true,
            );
          }
          expect(owner.get(a) ?? n.name, `address ${a} on two nodes`).toBe(n.name);
          owner.set(a, n.name);
        }
      }
    }
  }
  for (const p of changes.policies) {
    if (p.status.node !== '') expect(mayHold(state, p.status.node, now)).toBe(true);
  }
}

describe('hostile input properties', () => {
  it('junk in any position of the input never throws and never produces an unsafe assignment', () => {
    fc.assert(
      fc.property(
        arbCluster({ maxNodes: 5, maxPolicies: 8 }),
        fc.array(fc.tuple(fc.nat(), arbJunk), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (c, hits, afterWrite) => {
          const config = { evictionTimeoutMs: T };
          let state: EgressState = structuredClone(c.state);
          if (afterWrite)
            state = structuredClone(applyEgressChanges(state, reconcileEgress(state, config, c.nowMs)));
          for (const [pick, junk] of hits) {
            const all = positions(state);
            const at = all[pick % all.length];
            if (at !== undefined) at.parent[at.key] = junk;
          }
          const changes = reconcileEgress(state, config, c.nowMs);
          assertSafe(state, changes, c.nowMs);
          // Writing the changes and reconciling again is quiet, junk or not.
          const again = reconcileEgress(applyEgressChanges(state, changes), config, c.nowMs);
          expect([again.gateways, again.policies]).toEqual([[], []]);
        },
      ),
    );
  });

  it('junk replacing the whole state, a list or an entry never throws', () => {
    fc.assert(
      fc.property(
        arbJunk,
        fc.constantFrom(
          'state',
          'gateways',
          'nodes',
          'tunnels',
          'policies',
          'clusterPolicies',
          'namespaceLabels',
        ),
        (junk, where) => {
          const state =
            where === 'state'
              ? junk
              : { gateways: [], nodes: [], tunnels: [], policies: [], clusterPolicies: [], [where]: junk };
          const changes = reconcileEgress(state as EgressState, { evictionTimeoutMs: T }, 1);
          expect(changes.gateways).toEqual([]);
          expect(() => applyEgressChanges(state as EgressState, changes)).not.toThrow();
        },
      ),
    );
  });
});
