import type { EgressEndpoint } from '@egressgateway/crds';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { podKey } from './endpoint-membership.js';
import { planSlices, type Slice, type SliceOwner, type SlicePlan, sliceName } from './endpoint-slice-plan.js';

const owner: SliceOwner = { kind: 'EgressPolicy', name: 'p', namespace: 'ns', uid: 'u1' };

/** Applies a plan to a set of slices as the API server would (resourceVersion bumps). */
function apply(existing: readonly Slice[], plan: SlicePlan): Slice[] {
  const byName = new Map(existing.map((s) => [s.metadata?.name ?? '', s]));
  let rv = 1000;
  for (const d of plan.delete) byName.delete(d.name);
  for (const w of [...plan.update, ...plan.create]) {
    const s = structuredClone(w.slice);
    if (s.metadata) s.metadata.resourceVersion = String(rv++);
    byName.set(w.name, s);
  }
  return [...byName.values()];
}

const writes = (p: SlicePlan) => p.create.length + p.update.length + p.delete.length;

// Pods named pod-0..pod-49 on a few nodes, with one of a few addresses: arbitrary sets of them
// are the desired endpoints, arbitrary slices of them (with duplicates and stale entries) the
// existing state.
const endpointArb = fc
  .record({
    i: fc.integer({ min: 0, max: 49 }),
    node: fc.constantFrom('n1', 'n2'),
    ip: fc.integer({ min: 1, max: 3 }),
  })
  .map(
    ({ i, node, ip }): EgressEndpoint => ({ ns: 'ns', pod: `pod-${i}`, node, ipv4: [`198.18.${i}.${ip}`] }),
  );
const endpointsArb = fc
  .array(endpointArb, { maxLength: 40 })
  .map((l) => [...new Map(l.map((e) => [podKey(e.ns, e.pod), e])).values()]);
const existingArb = fc.array(fc.array(endpointArb, { maxLength: 8 }), { maxLength: 5 }).map((lists) =>
  lists.map(
    (endpoints, i): Slice => ({
      metadata: {
        name: sliceName('p', i),
        namespace: 'ns',
        resourceVersion: String(i + 1),
        labels: { 'spidernet.io/policy-name': 'p', 'egressgateway.spidernet.io/gateway': 'g' },
        ownerReferences: [
          {
            apiVersion: 'egressgateway.spidernet.io/v1beta1',
            kind: 'EgressPolicy',
            name: 'p',
            uid: 'u1',
            controller: true,
          },
        ],
      },
      endpoints,
    }),
  ),
);

describe('planSlices', () => {
  it('after the plan every desired endpoint is in exactly one slice, no slice is over the limit or empty, and planning again writes nothing', () => {
    fc.assert(
      fc.property(endpointsArb, existingArb, fc.integer({ min: 1, max: 6 }), (endpoints, existing, max) => {
        const input = { owner, gateway: 'g', endpoints, maxPerSlice: max, nameTaken: () => false };
        const after = apply(existing, planSlices({ ...input, existing }));
        const seen = after.flatMap((s) => (s.endpoints ?? []).map((e) => podKey(e.ns, e.pod)));
        expect(seen.sort()).toEqual(endpoints.map((e) => podKey(e.ns, e.pod)).sort());
        for (const s of after) {
          expect((s.endpoints ?? []).length).toBeGreaterThan(0);
          expect((s.endpoints ?? []).length).toBeLessThanOrEqual(max);
        }
        const byKey = new Map(endpoints.map((e) => [podKey(e.ns, e.pod), e]));
        for (const e of after.flatMap((s) => s.endpoints ?? []))
          expect(e).toEqual(byKey.get(podKey(e.ns, e.pod)));
        expect(writes(planSlices({ ...input, existing: after }))).toBe(0);
      }),
      { seed: 20, numRuns: 300 },
    );
  });

  it('from a converged state, one pod added, changed or removed writes exactly one slice', () => {
    fc.assert(
      fc.property(
        endpointsArb,
        endpointArb,
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom('add-or-change', 'remove'),
        (endpoints, one, max, op) => {
          const input = { owner, gateway: 'g', maxPerSlice: max, nameTaken: () => false };
          const converged = apply([], planSlices({ ...input, endpoints, existing: [] }));
          const map = new Map(endpoints.map((e) => [podKey(e.ns, e.pod), e]));
          const k = podKey(one.ns, one.pod);
          const before = map.get(k);
          if (op === 'remove') map.delete(k);
          else map.set(k, one);
          const noChange =
            op === 'remove' ? before === undefined : JSON.stringify(before) === JSON.stringify(one);
          const plan = planSlices({ ...input, endpoints: map.values(), existing: converged });
          expect(writes(plan)).toBe(noChange ? 0 : 1);
        },
      ),
      { seed: 21, numRuns: 300 },
    );
  });
});
