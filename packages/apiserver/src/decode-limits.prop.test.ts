import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkJsonDepth, checkYamlDepth, MAX_NESTING_DEPTH } from './decode-limits.js';

type Shape = 'seq' | 'map' | 'flowSeq' | 'flowMap';

/** A value nested `shapes.length` levels deep, each level of the given shape, with text that looks like syntax at the bottom. */
function build(shapes: Shape[], leaf: string): unknown {
  let v: unknown = leaf;
  for (const s of shapes) v = s === 'seq' || s === 'flowSeq' ? [v, 'x'] : { k: v, 'y[': "it's" };
  return v;
}

/** The same value as YAML text, block levels as block style, from the first flow level on as flow style (yaml.stringify is too slow for this depth). */
function yamlOf(shapes: Shape[], leaf: string): string {
  const out: string[] = [];
  const inline = (j: number): string => {
    if (j < 0) return JSON.stringify(leaf);
    const s = shapes[j] as Shape;
    return s === 'seq' || s === 'flowSeq' ? `[${inline(j - 1)}, x]` : `{k: ${inline(j - 1)}, "y[": "it's"}`;
  };
  // shapes[last] is the outermost level (build() wraps from the inside out).
  const emit = (j: number, indent: number): void => {
    const pad = ' '.repeat(indent);
    if (j < 0) {
      out.push(`${pad}${JSON.stringify(leaf)}`);
      return;
    }
    const s = shapes[j] as Shape;
    if (s === 'flowSeq' || s === 'flowMap') {
      out.push(`${pad}${inline(j)}`);
      return;
    }
    if (s === 'seq') {
      out.push(`${pad}-`);
      emit(j - 1, indent + 2);
      out.push(`${pad}- x`);
      return;
    }
    out.push(`${pad}k:`);
    emit(j - 1, indent + 2);
    out.push(`${pad}'y[': "it's"`);
  };
  emit(shapes.length - 1, 0);
  return `${out.join('\n')}\n`;
}

const shapes = (min: number, max: number) =>
  fc.array(fc.constantFrom<Shape>('seq', 'map', 'flowSeq', 'flowMap'), { minLength: min, maxLength: max });
const leaf = fc.constantFrom('plain', '[[[[', "'[{'", '"]]]"', '- - -', '| >', '# [');

describe('depth scans agree with the real nesting', () => {
  it('the generator writes the value it means (checked by the yaml parser at small depths)', () => {
    fc.assert(
      fc.property(shapes(1, 40), leaf, (s, l) => {
        expect(parse(yamlOf(s, l))).toEqual(build(s, l));
      }),
      { numRuns: 100 },
    );
  });

  it('never refuse documents of up to 450 levels (block style counts at most two per level)', () => {
    fc.assert(
      fc.property(shapes(1, 450), leaf, (s, l) => {
        checkYamlDepth(yamlOf(s, l), 'body');
        checkJsonDepth(JSON.stringify(build(s, l)), 'body');
      }),
      { numRuns: 40 },
    );
  });

  it('always refuse documents nested deeper than the limit', () => {
    fc.assert(
      fc.property(shapes(MAX_NESTING_DEPTH + 1, MAX_NESTING_DEPTH + 200), leaf, (s, l) => {
        expect(() => checkYamlDepth(yamlOf(s, l), 'body')).toThrow(/maxNestingDepth/);
        expect(() => checkJsonDepth(JSON.stringify(build(s, l)), 'body')).toThrow(/maxNestingDepth/);
      }),
      { numRuns: 20 },
    );
  });
});
