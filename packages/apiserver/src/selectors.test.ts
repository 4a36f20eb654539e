import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';

describe('parseLabelSelector', () => {
  it('parses every operator', () => {
    expect(parseLabelSelector('a=b, c==d,e!=f,g in (h, i),j notin (k),l,!m,n>3,o<4')).toEqual([
      { key: 'a', op: '=', values: ['b'] },
      { key: 'c', op: '=', values: ['d'] },
      { key: 'e', op: '!=', values: ['f'] },
      { key: 'g', op: 'in', values: ['h', 'i'] },
      { key: 'j', op: 'notin', values: ['k'] },
      { key: 'l', op: 'exists', values: [] },
      { key: 'm', op: '!', values: [] },
      { key: 'n', op: '>', values: ['3'] },
      { key: 'o', op: '<', values: ['4'] },
    ]);
    expect(parseLabelSelector('')).toEqual([]);
    expect(parseLabelSelector('example.com/role=x')).toEqual([
      { key: 'example.com/role', op: '=', values: ['x'] },
    ]);
    expect(parseLabelSelector('a=')).toEqual([{ key: 'a', op: '=', values: [''] }]);
  });

  it('reports the real server message for an unterminated set', () => {
    expect(() => parseLabelSelector('app in (a')).toThrow(
      "unable to parse requirement: found '', expected: ',' or ')'",
    );
  });

  it.each(['a b', 'a=b=c', 'in', '!', 'a in b', '-a=b', 'a=-b-', 'a,,b', 'a>x', `${'k'.repeat(64)}=v`])(
    'rejects %j with a 400',
    (s) => {
      let err: unknown;
      try {
        parseLabelSelector(s);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).httpStatus).toBe(400);
    },
  );
});

describe('matchLabels', () => {
  const labels = { app: 'web', tier: 'front', n: '5' };
  it.each([
    ['app=web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (db,web)', true],
    ['app notin (db,web)', false],
    ['missing notin (x)', true],
    ['missing in (x)', false],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['n>4', true],
    ['n<5', false],
    ['app=web,tier=back', false],
  ])('%s -> %s', (sel, want) => {
    expect(matchLabels(parseLabelSelector(sel), labels)).toBe(want);
  });
  it('treats absent labels as an empty set', () => {
    expect(matchLabels(parseLabelSelector('!a'), undefined)).toBe(true);
    expect(matchLabels(parseLabelSelector('a'), undefined)).toBe(false);
  });
});

describe('field selectors', () => {
  const pod = { metadata: { name: 'p1', namespace: 'ns' }, spec: { nodeName: 'n1' } };
  it('matches =, == and != on allowed fields', () => {
    const allowed = ['metadata.name', 'metadata.namespace', 'spec.nodeName'];
    expect(matchFields(parseFieldSelector('metadata.name=p1,spec.nodeName==n1', allowed), pod)).toBe(true);
    expect(matchFields(parseFieldSelector('spec.nodeName!=n1', allowed), pod)).toBe(false);
    expect(matchFields(parseFieldSelector('metadata.namespace!=other', allowed), pod)).toBe(true);
  });
  it('rejects unsupported field labels with the real message', () => {
    expect(() => parseFieldSelector('spec.size=1', ['metadata.name'])).toThrow(
      'field label not supported: spec.size',
    );
  });
  it('handles escaped separators in values', () => {
    const r = parseFieldSelector('metadata.name=a\\,b', ['metadata.name']);
    expect(r).toEqual([{ field: 'metadata.name', op: '=', value: 'a,b' }]);
  });
});
