import { describe, expect, it } from 'vitest';
import { compileSelector } from './label-selector.js';

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
