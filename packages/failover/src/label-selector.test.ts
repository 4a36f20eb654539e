import { describe, expect, it } from 'vitest';
import { reconcileEgress } from './egress/reconcile.js';
import { compileSelector, type LabelSelectorLike } from './label-selector.js';
import { makeGateway, makeNode, makeTunnel } from './testing/builders.js';

function matches(selector: Parameters<typeof compileSelector>[0], labels: Record<string, string>): boolean {
  const c = compileSelector(selector);
  if (!c.ok) throw new Error(c.message);
  return c.matches(labels);
}

describe('compileSelector', () => {
  it('follows Kubernetes semantics for each operator', () => {
    expect(matches({}, {})).toBe(true);
    expect(matches({ matchLabels: { egress: 'true' } }, { egress: 'true', x: 'y' })).toBe(true);
    expect(matches({ matchLabels: { egress: 'true' } }, { egress: 'false' })).toBe(false);
    const sel = (operator: string, values?: string[]) => ({
      matchExpressions: [{ key: 'zone', operator, ...(values ? { values } : {}) }],
    });
    expect(matches(sel('In', ['a', 'b']), { zone: 'b' })).toBe(true);
    expect(matches(sel('In', ['a']), {})).toBe(false);
    expect(matches(sel('NotIn', ['a']), {})).toBe(true);
    expect(matches(sel('NotIn', ['a']), { zone: 'a' })).toBe(false);
    expect(matches(sel('Exists'), { zone: '' })).toBe(true);
    expect(matches(sel('DoesNotExist'), { zone: '' })).toBe(false);
  });

  it('rejects invalid requirements with a message', () => {
    for (const bad of [
      { key: 'k', operator: 'In', values: [] },
      { key: 'k', operator: 'Exists', values: ['x'] },
      { key: 'k', operator: 'Gt', values: ['1'] },
    ]) {
      const c = compileSelector({ matchExpressions: [bad] });
      expect(c.ok).toBe(false);
    }
  });

  it('does not match inherited object properties as labels', () => {
    expect(matches({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(false);
  });
});

describe('reconcileEgress: a gateway nodeSelector Kubernetes would refuse selects no node', () => {
  const NOW = 100_000;
  function selected(selector: LabelSelectorLike) {
    const changes = reconcileEgress(
      {
        gateways: [makeGateway('gw', { ipv4: ['198.18.0.10'], ipv4DefaultEIP: '198.18.0.10', selector })],
        nodes: [makeNode('n1', { zone: 'a' }), makeNode('n2', { zone: 'b' })],
        tunnels: [makeTunnel('n1', NOW - 500), makeTunnel('n2', NOW - 500)],
        policies: [],
        clusterPolicies: [],
      },
      { evictionTimeoutMs: 3_000 },
      NOW,
    );
    return {
      nodes: changes.gateways.flatMap((g) => g.nodeList.map((n) => n.name)),
      problems: changes.problems.filter((p) => p.reason === 'InvalidNodeSelector').map((p) => p.message),
    };
  }

  it('a valid selector selects its nodes (control)', () => {
    expect(selected({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }] })).toEqual({
      nodes: ['n1'],
      problems: [],
    });
  });

  it('an invalid label key is refused as Kubernetes refuses it, with the field path', () => {
    expect(selected({ matchExpressions: [{ key: 'zone name', operator: 'DoesNotExist' }] })).toEqual({
      nodes: [],
      problems: [
        'spec.nodeSelector.selector.matchExpressions[0].key: label key "zone name" is invalid: the name part must be 1-63 characters of [A-Za-z0-9-_.], starting and ending with an alphanumeric',
      ],
    });
  });

  it('an unknown operator is refused, naming the operators to use', () => {
    expect(selected({ matchExpressions: [{ key: 'zone', operator: 'Bogus', values: ['a'] }] })).toEqual({
      nodes: [],
      problems: [
        'spec.nodeSelector.selector.matchExpressions[0].operator: "Bogus" is not a valid operator: use In, NotIn, Exists or DoesNotExist',
      ],
    });
  });
});
