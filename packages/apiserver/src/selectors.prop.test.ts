import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LabelRequirement, matchLabels, parseLabelSelector } from './selectors.js';

const labelKey = fc.constantFrom('app', 'tier', 'example.com/role', 'k8s.io/x');
const labelValue = fc.constantFrom('a', 'b', 'web', 'x-1', 'v.2');
const requirement: fc.Arbitrary<LabelRequirement> = fc.oneof(
  fc.record({
    key: labelKey,
    op: fc.constantFrom('=' as const, '!=' as const),
    values: fc.tuple(labelValue),
  }),
  fc.record({
    key: labelKey,
    op: fc.constantFrom('in' as const, 'notin' as const),
    values: fc.uniqueArray(labelValue, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    key: labelKey,
    op: fc.constantFrom('exists' as const, '!' as const),
    values: fc.constant<string[]>([]),
  }),
);

function render(r: LabelRequirement): string {
  switch (r.op) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.op} (${r.values.join(',')})`;
    default:
      return `${r.key}${r.op}${r.values[0]}`;
  }
}

describe('label selector properties', () => {
  it('rendering requirements and parsing them back yields the same requirements', () => {
    fc.assert(
      fc.property(fc.array(requirement, { minLength: 1, maxLength: 5 }), (reqs) => {
        expect(parseLabelSelector(reqs.map(render).join(','))).toEqual(reqs);
      }),
    );
  });

  it('a selector matches exactly when every single requirement matches (conjunction)', () => {
    fc.assert(
      fc.property(
        fc.array(requirement, { maxLength: 4 }),
        fc.dictionary(labelKey, labelValue),
        (reqs, labels) => {
          expect(matchLabels(reqs, labels)).toBe(reqs.every((r) => matchLabels([r], labels)));
        },
      ),
    );
  });

  it('x and its negation never both match (= vs !=, in vs notin, exists vs !)', () => {
    const neg: Record<string, LabelRequirement['op']> = {
      '=': '!=',
      '!=': '=',
      in: 'notin',
      notin: 'in',
      exists: '!',
      '!': 'exists',
    };
    fc.assert(
      fc.property(requirement, fc.dictionary(labelKey, labelValue), (r, labels) => {
        const n = { ...r, op: neg[r.op] as LabelRequirement['op'] };
        expect(matchLabels([r], labels)).not.toBe(matchLabels([n], labels));
      }),
    );
  });
});
