import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateJsonKeys, pruneTypedFields } from './field-validation.js';
import { BUILTIN_RESOURCES } from './resources.js';

describe('duplicateJsonKeys', () => {
  it('names each repeated key by its path, through objects and arrays', () => {
    expect(duplicateJsonKeys('{"a":1,"a":2}')).toEqual(['a']);
    expect(duplicateJsonKeys('{"spec":{"items":[{"n":1},{"n":1,"x":"{\\"n\\":1}","n":2}]}}')).toEqual([
      'spec.items[1].n',
    ]);
    expect(duplicateJsonKeys('[{"k":1,"k":1},[{"j":[],"j":{}}]]')).toEqual(['[0].k', '[1][0].j']);
    expect(duplicateJsonKeys('{"a\\u0062":1,"ab":2}')).toEqual(['ab']);
  });

  it('finds none in anything JSON.stringify writes, and one per key written twice', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (v, key) => {
        expect(duplicateJsonKeys(JSON.stringify(v))).toEqual([]);
        const twice = `{${JSON.stringify(key)}:${JSON.stringify(v) ?? 'null'},${JSON.stringify(key)}:0}`;
        expect(duplicateJsonKeys(twice)).toEqual([key]);
      }),
    );
  });
});

describe('pruneTypedFields', () => {
  const configMaps = BUILTIN_RESOURCES.find((r) => r.resource === 'configmaps');
  if (configMaps === undefined) throw new Error('configmaps not served');

  it('returns the same object when nothing is unknown', () => {
    const o = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: {} }, data: {} };
    const r = pruneTypedFields(o, configMaps);
    expect(r.object).toBe(o);
    expect(r.unknown).toEqual([]);
  });

  it('drops unknown fields without changing the input', () => {
    const o = { metadata: { name: 'a', x: 1 }, y: 2, data: { k: 'v' } };
    const r = pruneTypedFields(o, configMaps);
    expect(r.object).toEqual({ metadata: { name: 'a' }, data: { k: 'v' } });
    expect(r.unknown).toEqual(['y', 'metadata.x']);
    expect(o).toEqual({ metadata: { name: 'a', x: 1 }, y: 2, data: { k: 'v' } });
  });
});
