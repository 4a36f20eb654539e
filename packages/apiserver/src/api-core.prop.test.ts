import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiCore, type Scope, type WriteOptions } from './api-core.js';
import { MemoryStorage } from './memory-storage.js';
import { Registry } from './registry.js';
import type { KubeObject } from './types.js';

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', kind: 'Widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: {
                  size: { type: 'integer', default: 1 },
                  tags: { type: 'object', additionalProperties: { type: 'string' } },
                },
              },
              status: { type: 'object', properties: { phase: { type: 'string' } } },
            },
          },
        },
      },
    ],
  },
};

const opts = (): WriteOptions => ({ fieldValidation: 'Ignore', dryRun: false, warnings: [] });
type Step = { sub: boolean; patch: Record<string, unknown> };
const step: fc.Arbitrary<Step> = fc.record({
  sub: fc.boolean(),
  patch: fc.oneof(
    fc.record({
      spec: fc.record({ size: fc.integer({ min: 0, max: 3 }), junk: fc.constant(1) }, { requiredKeys: [] }),
    }),
    fc.record({
      spec: fc.record({
        tags: fc.dictionary(
          fc.constantFrom('a', 'b'),
          fc.oneof(fc.constant(null), fc.constantFrom('x', 'y')),
        ),
      }),
    }),
    fc.record({
      status: fc.record(
        { phase: fc.constantFrom('Ready', 'Failed'), junk: fc.constant(2) },
        { requiredKeys: [] },
      ),
    }),
    fc.record({
      metadata: fc.record({ labels: fc.dictionary(fc.constantFrom('l1', 'l2'), fc.constantFrom('v', 'w')) }),
    }),
  ),
});

describe('ApiCore write properties', () => {
  it('writes never mutate objects already stored; generation counts spec changes; status and spec stay on their endpoints', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const storage = new MemoryStorage();
        const core = new ApiCore(storage, new Registry(), { now: () => 0, uid: () => 'u' });
        core.bootstrap();
        const crdScope: Scope = {
          served: core.registry.lookup(
            'apiextensions.k8s.io',
            'v1',
            'customresourcedefinitions',
          ) as Scope['served'],
          namespace: '',
        };
        core.create(crdScope, CRD, opts());
        const served = core.registry.lookup('example.com', 'v1', 'widgets') as Scope['served'];
        const main: Scope = { served, namespace: 'default', name: 'w' };
        core.create({ served, namespace: 'default' }, { metadata: { name: 'w' }, spec: { size: 1 } }, opts());
        const snapshots: [KubeObject, string][] = [];
        let specChanges = 0;
        for (const s of steps) {
          const before = core.get(main);
          snapshots.push([before, JSON.stringify(before)]);
          const after = core.patch(
            s.sub ? { ...main, subresource: 'status' } : main,
            'application/merge-patch+json',
            JSON.stringify(s.patch),
            opts(),
          );
          if (s.sub) expect(after.spec).toEqual(before.spec);
          else expect(after.status).toEqual(before.status);
          if (JSON.stringify(after.spec) !== JSON.stringify(before.spec)) specChanges++;
          expect(after).not.toHaveProperty('spec.junk');
          expect(after).not.toHaveProperty('status.junk');
        }
        for (const [obj, json] of snapshots) expect(JSON.stringify(obj)).toBe(json);
        expect(core.get(main).metadata.generation).toBe(1 + specChanges);
      }),
    );
  });
});
