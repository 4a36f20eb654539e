import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PodView, PolicyMembership, type PolicySelection } from './endpoint-membership.js';

// A small world: pods p0..p7 in namespaces a/b with app and tier labels; policies by matchLabels,
// matchExpressions or both; cluster policies with a namespaceSelector.
const podArb = fc
  .record({
    i: fc.integer({ min: 0, max: 7 }),
    ns: fc.constantFrom('a', 'b'),
    app: fc.constantFrom('web', 'db', undefined),
    tier: fc.constantFrom('fe', 'be', undefined),
    ip: fc.integer({ min: 1, max: 3 }),
    phase: fc.constantFrom('Running', 'Running', 'Succeeded'),
  })
  .map(
    ({ i, ns, app, tier, ip, phase }): PodView => ({
      metadata: {
        name: `p${i}`,
        namespace: ns,
        labels: { ...(app ? { app } : {}), ...(tier ? { tier } : {}) },
      },
      spec: { nodeName: `n${ip}` },
      status: { podIPs: [{ ip: `198.18.${i}.${ip}` }], phase },
    }),
  );
const selectionArb: fc.Arbitrary<PolicySelection> = fc.record({
  namespace: fc.constantFrom('a', 'b', undefined),
  podSelector: fc.constantFrom(
    { matchLabels: { app: 'web' } },
    { matchLabels: { app: 'web', tier: 'fe' } },
    { matchExpressions: [{ key: 'tier', operator: 'Exists' as const }] },
    {
      matchLabels: { app: 'db' },
      matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['be'] }],
    },
    {},
    undefined,
  ),
  namespaceSelector: fc.constantFrom(undefined, { matchLabels: { egress: 'on' } }),
});
type Op =
  | { op: 'pod'; pod: PodView }
  | { op: 'delete'; i: number; ns: string }
  | { op: 'policy'; key: string; sel: PolicySelection }
  | { op: 'remove'; key: string }
  | { op: 'ns'; ns: string; on: boolean };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('pod' as const), pod: podArb }),
  fc.record({
    op: fc.constant('delete' as const),
    i: fc.integer({ min: 0, max: 7 }),
    ns: fc.constantFrom('a', 'b'),
  }),
  fc.record({ op: fc.constant('policy' as const), key: fc.constantFrom('x', 'y', 'z'), sel: selectionArb }),
  fc.record({ op: fc.constant('remove' as const), key: fc.constantFrom('x', 'y', 'z') }),
  fc.record({ op: fc.constant('ns' as const), ns: fc.constantFrom('a', 'b'), on: fc.boolean() }),
);

const snapshot = (m: PolicyMembership, key: string) => Object.fromEntries([...m.members(key)].sort());

describe('PolicyMembership', () => {
  it('kept incrementally, it equals the membership computed from scratch, and reports every policy whose members changed', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const m = new PolicyMembership();
        const pods = new Map<string, PodView>();
        const policies = new Map<string, PolicySelection>();
        const nsLabels = new Map<string, Record<string, string>>();
        for (const o of ops) {
          const before = Object.fromEntries(
            [...policies.keys()].map((k) => [k, JSON.stringify(snapshot(m, k))]),
          );
          let reported = new Set<string>();
          if (o.op === 'pod') {
            pods.set(`${o.pod.metadata?.namespace}/${o.pod.metadata?.name}`, o.pod);
            reported = m.upsertPod(o.pod);
          } else if (o.op === 'delete') {
            pods.delete(`${o.ns}/p${o.i}`);
            reported = m.deletePod(o.ns, `p${o.i}`);
          } else if (o.op === 'policy') {
            policies.set(o.key, o.sel);
            if (m.setPolicy(o.key, o.sel)) reported.add(o.key);
          } else if (o.op === 'remove') {
            policies.delete(o.key);
            m.removePolicy(o.key);
          } else {
            const labels = o.on ? { egress: 'on' } : {};
            nsLabels.set(o.ns, labels);
            reported = m.setNamespaceLabels(o.ns, labels);
          }
          for (const k of policies.keys())
            if (k in before && before[k] !== JSON.stringify(snapshot(m, k)))
              expect(reported.has(k), `${k} changed`).toBe(true);
        }
        const fresh = new PolicyMembership();
        for (const [ns, labels] of nsLabels) fresh.setNamespaceLabels(ns, labels);
        for (const pod of pods.values()) fresh.upsertPod(pod);
        for (const [k, sel] of policies) fresh.setPolicy(k, sel);
        for (const k of policies.keys()) expect(snapshot(m, k)).toEqual(snapshot(fresh, k));
      }),
      { seed: 22, numRuns: 400 },
    );
  });
});
