import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { checkJsonDepth, checkYamlDepth, MAX_NESTING_DEPTH } from './decode-limits.js';

const deep = (n: number, open = '[', close = ']') => open.repeat(n) + close.repeat(n);

describe('checkJsonDepth', () => {
  it('accepts nesting up to the limit and refuses one more with a 400 naming the limit', () => {
    expect(() => checkJsonDepth(deep(MAX_NESTING_DEPTH), 'body')).not.toThrow();
    expect(() => checkJsonDepth(deep(MAX_NESTING_DEPTH + 1), 'body')).toThrow(
      expect.objectContaining({
        httpStatus: 400,
        message: expect.stringContaining('limit of 1000 (maxNestingDepth)'),
      }),
    );
  });
  it('ignores brackets inside strings, escaped quotes included', () => {
    const s = JSON.stringify({ a: '['.repeat(5000), b: '\\"{{{{'.repeat(1000) });
    expect(() => checkJsonDepth(s, 'body')).not.toThrow();
  });
  it('counts objects and arrays together', () => {
    let s = '1';
    for (let i = 0; i < 600; i++) s = `{"a":[${s}]}`;
    expect(() => checkJsonDepth(s, 'body')).toThrow(/maxNestingDepth/);
  });
  it('refuses a 2 MB unterminated run of [ without parsing it', () => {
    expect(() => checkJsonDepth('['.repeat(2_000_000), 'body')).toThrow(/maxNestingDepth/);
  });
});

describe('checkYamlDepth', () => {
  it('refuses deep flow nesting before the parser sees it', () => {
    expect(() => checkYamlDepth(`a: ${'['.repeat(100_000)}`, 'patch')).toThrow(/maxNestingDepth/);
    expect(() => checkYamlDepth('{'.repeat(2_000), 'patch')).toThrow(/maxNestingDepth/);
    expect(() => checkYamlDepth(`&x ${'['.repeat(2_000)}`, 'patch')).toThrow(/maxNestingDepth/);
  });
  it('refuses deep block nesting by indentation and by compact sequences', () => {
    const lines: string[] = [];
    for (let i = 0; i < 1100; i++) lines.push(`${' '.repeat(i)}k${i}:`);
    expect(() => checkYamlDepth(lines.join('\n'), 'body')).toThrow(/maxNestingDepth/);
    expect(() => checkYamlDepth(`${'- '.repeat(1100)}x`, 'body')).toThrow(/maxNestingDepth/);
  });
  it('accepts ordinary manifests, brackets in quoted, plain and block scalars included', () => {
    const doc = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: x # a [comment',
      '  annotations: {a: \'[[[\', b: "{{\\""}',
      'data:',
      `  plain: it's a [test`,
      '  script: |',
      `    ${'['.repeat(3000)}`,
      '    - - - - nested-looking text',
      '  list:',
      '  - - a',
      '    - b',
      '  - [1, [2, [3]]]',
    ].join('\n');
    expect(() => checkYamlDepth(doc, 'body')).not.toThrow();
    expect(parseYaml(doc)).toMatchObject({
      data: {
        list: [
          ['a', 'b'],
          [1, [2, [3]]],
        ],
      },
    });
    const ok: string[] = [];
    for (let i = 0; i < 900; i++) ok.push(`${' '.repeat(i)}k${i}:`);
    expect(() => checkYamlDepth(ok.join('\n'), 'body')).not.toThrow();
  });
});

describe('checkYamlDepth on hostile shapes', () => {
  it('finds flow nesting after a plain key holding a bracket', () => {
    expect(() => checkYamlDepth(`a[b: ${'['.repeat(2000)}`, 'body')).toThrow(/maxNestingDepth/);
  });
  it('is not fooled by a quote inside a plain scalar', () => {
    expect(() => checkYamlDepth(`a: b 'c\nd: ${'['.repeat(2000)}`, 'body')).toThrow(/maxNestingDepth/);
    expect(() => checkYamlDepth(`a: ${'['.repeat(999)}x 'y, ${'['.repeat(10)}`, 'body')).toThrow(
      /maxNestingDepth/,
    );
  });
  it('scans a 3 MB plain scalar full of brackets in one pass', () => {
    expect(() => checkYamlDepth(`a: x ${'[ '.repeat(1_500_000)}`, 'body')).not.toThrow();
    expect(() => checkYamlDepth(`a: x ${"' ".repeat(1_500_000)}`, 'body')).not.toThrow();
  });
});

describe('checkYamlDepth and block scalars', () => {
  it('does not skip a sibling key after a block scalar under a sequence entry', () => {
    const doc = `- script: |\n    echo hi\n  other: ${'['.repeat(2000)}`;
    expect(() => checkYamlDepth(doc, 'body')).toThrow(/maxNestingDepth/);
  });
  it('skips the text of block scalars under keys and entries', () => {
    const text = `${'['.repeat(3000)}`;
    for (const doc of [
      `a:\n  - script: |\n      ${text}\n    b: 1`,
      `- |\n  ${text}\n- >-\n  ${text}`,
      `k: |+\n  ${text}\n\n  ${text}\nz: 1`,
    ])
      expect(() => checkYamlDepth(doc, 'body'), doc.slice(0, 30)).not.toThrow();
  });
});
