import { describe, expect, it } from 'vitest';
import {
  checkLabelKey,
  checkLabelValue,
  compileSelector,
  type LabelSelectorLike,
  requiredLabelAlternatives,
  selectorIssues,
} from './selector.js';

function matches(selector: LabelSelectorLike, labels: Record<string, string> | undefined): boolean {
  const c = compileSelector(selector);
  if (!c.ok) throw new Error(c.error);
  return c.value.matches(labels);
}

const sel = (operator: string, values?: string[]) => ({
  matchExpressions: [{ key: 'zone', operator, ...(values ? { values } : {}) }],
});

describe('compileSelector', () => {
  it('follows Kubernetes semantics for each operator', () => {
    expect(matches({}, {})).toBe(true);
    expect(matches({}, undefined)).toBe(true);
    expect(matches({ matchLabels: { egress: 'true' } }, { egress: 'true', x: 'y' })).toBe(true);
    expect(matches({ matchLabels: { egress: 'true' } }, { egress: 'false' })).toBe(false);
    expect(matches({ matchLabels: { egress: 'true' } }, undefined)).toBe(false);
    expect(matches(sel('In', ['a', 'b']), { zone: 'b' })).toBe(true);
    expect(matches(sel('In', ['a']), {})).toBe(false);
    expect(matches(sel('NotIn', ['a']), {})).toBe(true);
    expect(matches(sel('NotIn', ['a']), { zone: 'a' })).toBe(false);
    expect(matches(sel('Exists'), { zone: '' })).toBe(true);
    expect(matches(sel('DoesNotExist'), { zone: '' })).toBe(false);
    expect(matches(sel('DoesNotExist'), {})).toBe(true);
  });

  it('refuses what Kubernetes refuses, with the path and the fix (an unknown operator never matches)', () => {
    expect(compileSelector(sel('Bogus', ['a']))).toEqual({
      ok: false,
      error:
        'matchExpressions[0].operator: "Bogus" is not a valid operator: use In, NotIn, Exists or DoesNotExist',
    });
    expect(compileSelector(sel('Gt', ['1'])).ok).toBe(false);
    expect(compileSelector(sel('in', ['a'])).ok).toBe(false);
    expect(compileSelector(sel('In', []))).toEqual({
      ok: false,
      error: 'matchExpressions[0].values: operator In needs at least one value',
    });
    expect(compileSelector(sel('NotIn'))).toMatchObject({ ok: false });
    expect(compileSelector(sel('Exists', ['x']))).toEqual({
      ok: false,
      error: 'matchExpressions[0].values: operator Exists takes no values: remove them',
    });
    expect(compileSelector({ matchLabels: { 'a b': 'c' } })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^matchLabels\[a b\]: label key "a b" is invalid/),
    });
    expect(
      compileSelector({ matchLabels: { a: 'b c' }, matchExpressions: [{ key: '', operator: 'X' }] }),
    ).toMatchObject({
      ok: false,
      error: expect.stringContaining('(and 2 more)'),
    });
  });

  it('refuses hostile shapes instead of throwing', () => {
    for (const bad of [
      null,
      [],
      { matchLabels: [] },
      { matchLabels: { a: 1 } },
      { matchExpressions: {} },
      { matchExpressions: [null] },
      { matchExpressions: [{ key: 'a', operator: 'In', values: 'x' }] },
      { matchExpressions: [{ key: 1, operator: 'Exists' }] },
    ]) {
      expect(compileSelector(bad as unknown as LabelSelectorLike).ok).toBe(false);
    }
  });
});

describe('selectorIssues', () => {
  it('lists every problem with its path', () => {
    expect(
      selectorIssues({
        matchLabels: { 'Example.com/x': 'ok' },
        matchExpressions: [
          { key: 'k', operator: 'In', values: ['-bad'] },
          { key: 'k', operator: 'Nope' },
        ],
      }).map((i) => i.path),
    ).toEqual([
      'matchLabels[Example.com/x]',
      'matchExpressions[0].values[0]',
      'matchExpressions[1].operator',
    ]);
    expect(selectorIssues({ matchLabels: { 'example.com/app': 'web' } })).toEqual([]);
  });
});

describe('label keys and values', () => {
  it('accepts qualified names and refuses the rest', () => {
    for (const k of ['app', 'example.com/app', 'a.b_c-d', 'x'.repeat(63)])
      expect(checkLabelKey(k).ok).toBe(true);
    for (const k of ['', '/app', 'Example.com/app', '-app', 'app-', 'x'.repeat(64), 'a b'])
      expect(checkLabelKey(k).ok).toBe(false);
    for (const v of ['', 'web', 'a.b_c-d']) expect(checkLabelValue(v).ok).toBe(true);
    for (const v of ['-web', 'web ', 'x'.repeat(64)]) expect(checkLabelValue(v).ok).toBe(false);
  });
});

describe('requiredLabelAlternatives', () => {
  it('lists matchLabels pairs and In alternatives', () => {
    expect(
      requiredLabelAlternatives({
        matchLabels: { egress: 'true' },
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['a', 'b'] },
          { key: 'x', operator: 'Exists' },
        ],
      }),
    ).toEqual([
      [['egress', 'true']],
      [
        ['zone', 'a'],
        ['zone', 'b'],
      ],
    ]);
  });
});
